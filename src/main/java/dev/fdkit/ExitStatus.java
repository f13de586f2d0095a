package dev.fdkit;

import dev.fdkit.internal.Syscalls;

import java.util.Objects;
import java.util.Optional;

/**
 * How a process ended. (STOPPED and CONTINUED are what a raw wait status can also say; fdkit's own waits
 * report exits only, so its futures never complete with them.)
 *
 * @param kind       what happened
 * @param code       the exit code for EXITED, else 0
 * @param signal     the signal number for KILLED and STOPPED, else 0
 * @param coreDumped for KILLED: whether a core dump was written
 * @param usage      resource usage for a child reaped by fdkit; null when unknown (not our child)
 * @param detail     for UNKNOWN: why the status is unknown; else empty
 */
public record ExitStatus(Kind kind, int code, int signal, boolean coreDumped, ResourceUsage usage, String detail) {

    /** @throws NullPointerException if {@code kind} is null (toString and shellCode could not say what happened) */
    public ExitStatus {
        Objects.requireNonNull(kind, "kind");
    }

    public enum Kind {
        /** Exited normally with {@link #code()}. */
        EXITED,
        /** Terminated by {@link #signal()}. */
        KILLED,
        /** Stopped by {@link #signal()} (a raw wait status with WUNTRACED; never from fdkit's waits). */
        STOPPED,
        /** Continued by SIGCONT (a raw wait status with WCONTINUED; never from fdkit's waits). */
        CONTINUED,
        /** The process is gone, but the kernel cannot tell how: see {@link #detail()}. */
        UNKNOWN
    }

    public static ExitStatus exited(int code, ResourceUsage usage) {
        return new ExitStatus(Kind.EXITED, code, 0, false, usage, "");
    }

    public static ExitStatus killed(int signal, boolean coreDumped, ResourceUsage usage) {
        return new ExitStatus(Kind.KILLED, 0, signal, coreDumped, usage, "");
    }

    public static ExitStatus unknown(String why) {
        return new ExitStatus(Kind.UNKNOWN, 0, 0, false, null, java.util.Objects.requireNonNull(why, "why"));
    }

    /** Decodes a wait(2)-style status word (as in PIDFD_INFO_EXIT's exit_code). */
    public static ExitStatus fromWaitStatus(int status, ResourceUsage usage) {
        int low = status & 0x7f;
        if (low == 0) return exited((status >> 8) & 0xff, usage);
        if ((status & 0xff) == 0x7f) return new ExitStatus(Kind.STOPPED, 0, (status >> 8) & 0xff, false, usage, "");
        if (status == 0xffff) return new ExitStatus(Kind.CONTINUED, 0, 0, false, usage, "");
        return killed(low, (status & 0x80) != 0, usage);
    }

    /** True for a normal exit with code 0. */
    public boolean success() {
        return kind == Kind.EXITED && code == 0;
    }

    /** Resource usage, present for children reaped by fdkit. */
    public Optional<ResourceUsage> resourceUsage() {
        return Optional.ofNullable(usage);
    }

    /** The shell convention: the code for EXITED, 128 + signal for KILLED, -1 when unknown. */
    public int shellCode() {
        return switch (kind) {
            case EXITED -> code;
            case KILLED, STOPPED -> 128 + signal;
            case CONTINUED, UNKNOWN -> -1;
        };
    }

    @Override
    public String toString() {
        return switch (kind) {
            case EXITED -> "exited " + code;
            case KILLED -> "killed by " + Syscalls.signalName(signal) + (coreDumped ? " (core dumped)" : "");
            case STOPPED -> "stopped by " + Syscalls.signalName(signal);
            case CONTINUED -> "continued";
            case UNKNOWN -> "exited, status unknown: " + detail;
        };
    }
}
