package io.flowmonkey.console;

/** A request the console refuses, with the HTTP status to answer and a message safe to show. */
final class ConsoleException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    final int status;

    ConsoleException(int status, String message) {
        super(message);
        this.status = status;
    }
}
