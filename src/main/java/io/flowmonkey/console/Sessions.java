package io.flowmonkey.console;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The console's secrets: the access token, checked in constant time, and the browser sessions a login
 * opens, each with a CSRF token of its own that every action form must carry back.
 */
final class Sessions {

    /** A logged-in browser: its CSRF token, and when it expires. */
    record Session(String id, String csrfToken, Instant expiresAt) {
    }

    private final SecureRandom random = new SecureRandom();
    private final byte[] token;
    private final Duration ttl;
    private final Clock clock;
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    /**
     * What an action did, by session, shown once by the page it redirects to. Kept here rather than
     * in the redirect's URL, so that a link someone else made cannot make the console say anything.
     */
    private final Map<String, String> notices = new ConcurrentHashMap<>();

    Sessions(String token, Duration ttl, Clock clock) {
        this.token = token.getBytes(StandardCharsets.UTF_8);
        this.ttl = ttl;
        this.clock = clock;
    }

    /** Whether a presented token is the console's: compared in constant time, so timing tells nothing of it. */
    boolean tokenMatches(String presented) {
        return presented != null && MessageDigest.isEqual(token, presented.getBytes(StandardCharsets.UTF_8));
    }

    /** Opens a session after a login that presented the token. */
    Session open() {
        Instant now = clock.instant();
        // Expired sessions go at each login: only a token holder can add one, so this bounds the map.
        sessions.values().removeIf(s -> !s.expiresAt().isAfter(now));
        notices.keySet().retainAll(sessions.keySet());
        Session s = new Session(randomText(), randomText(), now.plus(ttl));
        sessions.put(s.id(), s);
        return s;
    }

    /** The live session of a cookie value, or null. */
    Session find(String sessionId) {
        if (sessionId == null) {
            return null;
        }
        Session s = sessions.get(sessionId);
        if (s == null) {
            return null;
        }
        if (!s.expiresAt().isAfter(clock.instant())) {
            close(s);
            return null;
        }
        return s;
    }

    /** Keeps what an action did, for the next page of this session to show. */
    void notice(Session s, String text) {
        notices.put(s.id(), text);
    }

    /** What the last action of this session did, once: null when already shown or when there was none. */
    String takeNotice(Session s) {
        return s == null ? null : notices.remove(s.id());
    }

    /** Whether a form's CSRF token is its session's, compared in constant time. */
    static boolean csrfMatches(Session s, String presented) {
        return s != null && presented != null && MessageDigest.isEqual(
                s.csrfToken().getBytes(StandardCharsets.UTF_8), presented.getBytes(StandardCharsets.UTF_8));
    }

    void close(Session s) {
        if (s != null) {
            sessions.remove(s.id());
            notices.remove(s.id());
        }
    }

    private String randomText() {
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
