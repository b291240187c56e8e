package io.flowmonkey.console;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One HTTP request as the console reads it: method, path, query and form parameters, cookies. */
final class Request {

    /** Bodies larger than this are refused: no console form or JSON action needs more. */
    static final int MAX_BODY = 64 * 1024;

    final HttpExchange exchange;
    final String method;
    final String path;
    final Map<String, List<String>> params;
    final String body;

    private Request(HttpExchange exchange, String body, Map<String, List<String>> params) {
        this.exchange = exchange;
        this.method = exchange.getRequestMethod();
        this.path = exchange.getRequestURI().getRawPath();
        this.body = body;
        this.params = params;
    }

    static Request read(HttpExchange exchange) throws IOException {
        Map<String, List<String>> params = new LinkedHashMap<>();
        parse(exchange.getRequestURI().getRawQuery(), params);
        String body = "";
        if ("POST".equals(exchange.getRequestMethod())) {
            try (InputStream in = exchange.getRequestBody()) {
                byte[] bytes = in.readNBytes(MAX_BODY + 1);
                if (bytes.length > MAX_BODY) {
                    throw new ConsoleException(413, "request body is larger than " + MAX_BODY + " bytes");
                }
                body = new String(bytes, StandardCharsets.UTF_8);
            }
            String type = exchange.getRequestHeaders().getFirst("Content-Type");
            if (type != null && type.startsWith("application/x-www-form-urlencoded")) {
                parse(body, params);
            }
        }
        return new Request(exchange, body, params);
    }

    /** The first value of a parameter, null when absent or blank. */
    String param(String name) {
        List<String> values = params.get(name);
        if (values == null) {
            return null;
        }
        return values.stream().filter(v -> !v.isBlank()).map(String::strip).findFirst().orElse(null);
    }

    /** Every non-blank value of a parameter. */
    List<String> all(String name) {
        return params.getOrDefault(name, List.of()).stream().filter(v -> !v.isBlank()).map(String::strip).toList();
    }

    String header(String name) {
        return exchange.getRequestHeaders().getFirst(name);
    }

    /** A cookie's value, or null. */
    String cookie(String name) {
        List<String> headers = exchange.getRequestHeaders().get("Cookie");
        if (headers == null) {
            return null;
        }
        for (String header : headers) {
            for (String part : header.split(";")) {
                int eq = part.indexOf('=');
                if (eq > 0 && part.substring(0, eq).strip().equals(name)) {
                    return part.substring(eq + 1).strip();
                }
            }
        }
        return null;
    }

    private static void parse(String raw, Map<String, List<String>> into) {
        if (raw == null || raw.isEmpty()) {
            return;
        }
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = decode(eq < 0 ? pair : pair.substring(0, eq));
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
            into.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
        }
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new ConsoleException(400, "a request parameter is not valid URL encoding");
        }
    }
}
