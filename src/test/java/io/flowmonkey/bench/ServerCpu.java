package io.flowmonkey.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * The CPU time PostgreSQL has used, read from {@code /proc}: the postmaster's own, that of the
 * children it has reaped (backends that have exited), and that of its live children. So a delta
 * between two readings counts every backend, the ones that ended in between included, and the
 * server's own background processes (WAL writer, checkpointer, autovacuum). Only where the server
 * runs on this machine under Linux; otherwise {@link #total()} is empty.
 */
final class ServerCpu {

    /** Linux reports process times in clock ticks of 1/100 s on every common platform. */
    private static final long NANOS_PER_TICK = 10_000_000L;
    /** The most reads {@link #total()} makes while backends keep being reaped under it. */
    private static final int READS = 20;

    private final long postmaster;

    private ServerCpu(long postmaster) {
        this.postmaster = postmaster;
    }

    /** Finds the postmaster as the parent of the backend serving {@code c}. */
    static ServerCpu of(Connection c) throws SQLException {
        long backend;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            backend = rs.getLong(1);
        }
        long parent = -1;
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(backend), "status"))) {
                if (line.startsWith("PPid:")) {
                    parent = Long.parseLong(line.substring(5).trim());
                }
            }
        } catch (IOException e) {
            // Not on this machine, or not Linux: server CPU is not reported.
        }
        return new ServerCpu(parent);
    }

    /** The postmaster's process id, or a non-positive value where it could not be found. */
    long postmaster() {
        return postmaster;
    }

    /**
     * CPU nanoseconds used by the server since it started, or empty where that cannot be read. A
     * child reaped between the read of the postmaster and that of its children would be in neither
     * (it was: a window of 5 µs per execution beside its rounds' 300), so the postmaster's reaped-children
     * times are read again after the children, and the whole read is repeated until they did not move
     * (at most {@value #READS} times; empty if they never held still).
     */
    OptionalLong total() {
        if (postmaster <= 0) {
            return OptionalLong.empty();
        }
        for (int read = 0; read < READS; read++) {
            long[] own = fields(postmaster);
            if (own.length < 15) {
                return OptionalLong.empty();
            }
            // utime, stime, cutime, cstime of the postmaster: fields 14-17 of /proc/PID/stat.
            long ticks = own[11] + own[12] + own[13] + own[14];
            try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
                for (Path p : procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
                        .toList()) {
                    long[] f = fields(Long.parseLong(p.getFileName().toString()));
                    // Field 4 is the parent's id.
                    if (f.length == 15 && f[1] == postmaster) {
                        ticks += f[11] + f[12];
                    }
                }
            } catch (IOException e) {
                return OptionalLong.empty();
            }
            long[] again = fields(postmaster);
            if (again.length < 15) {
                return OptionalLong.empty();
            }
            if (again[13] + again[14] == own[13] + own[14]) {
                return OptionalLong.of(ticks * NANOS_PER_TICK);
            }
        }
        return OptionalLong.empty();
    }

    /**
     * The numeric fields of /proc/PID/stat from field 3 (the state, read as 0) on: index 1 is the parent,
     * 11 and 12 user and system time. Empty if the process has gone.
     */
    private static long[] fields(long pid) {
        String stat;
        try {
            stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (IOException e) {
            return new long[0];
        }
        // The command name, in parentheses, may hold spaces: the fields start after its closing one.
        List<String> parts = List.of(stat.substring(stat.lastIndexOf(')') + 2).trim().split(" "));
        // Up to cstime only: later fields (rsslim) can exceed a long.
        long[] f = new long[Math.min(parts.size(), 15)];
        for (int i = 1; i < f.length; i++) {
            f[i] = Long.parseLong(parts.get(i));
        }
        return f;
    }
}
