package io.flowmonkey.console;

/**
 * The one escaping helper of the console's HTML: every value a page shows, and every attribute value it
 * writes, passes through {@link #esc(Object)}, so text from executions (contexts, ids, error messages)
 * is shown as text and never read as markup.
 */
final class Html {

    private Html() {
    }

    /**
     * Escapes a value for HTML text and for double- or single-quoted attribute values.
     *
     * @param value any value; null becomes the empty string
     * @return the escaped text
     */
    static String esc(Object value) {
        if (value == null) {
            return "";
        }
        String s = value.toString();
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    /**
     * Escapes a value for a URL query parameter inside an attribute: percent-encoded, then HTML-escaped.
     *
     * @param value the parameter value
     * @return the encoded text
     */
    static String param(String value) {
        return esc(java.net.URLEncoder.encode(value == null ? "" : value, java.nio.charset.StandardCharsets.UTF_8));
    }
}
