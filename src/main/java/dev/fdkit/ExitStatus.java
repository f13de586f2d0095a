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

    /**
     * Checks the one rule the components have: a kind is always given.
     *
     * @throws NullPointerException if {@code kind} is null (toString and shellCode could not say what happened)
     */
    public ExitStatus {
        Objects.requireNonNull(kind, "kind");
    }

    /** What a wait status reports: an exit, a fatal signal, a stop, a continue, or nothing knowable. */
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

    /**
     * A normal exit.
     *
     * @param code  the exit code, 0 to 255
     * @param usage the child's resource usage, or null when unknown
     * @return an EXITED status
     */
    public static ExitStatus exited(int code, ResourceUsage usage) {
        return new ExitStatus(Kind.EXITED, code, 0, false, usage, "");
    }

    /**
     * A death by signal.
     *
     * @param signal     the signal number that terminated the process
     * @param coreDumped whether a core dump was written
     * @param usage      the child's resource usage, or null when unknown
     * @return a KILLED status
     */
    public static ExitStatus killed(int signal, boolean coreDumped, ResourceUsage usage) {
        return new ExitStatus(Kind.KILLED, 0, signal, coreDumped, usage, "");
    }

    /**
     * A process known to be gone whose status the kernel cannot give (for example not our child, and no PIDFD_INFO_EXIT).
     *
     * @param why the reason, shown by {@link #toString()}; not null
     * @return an UNKNOWN status without resource usage
     * @throws NullPointerException if {@code why} is null
     */
    public static ExitStatus unknown(String why) {
        return new ExitStatus(Kind.UNKNOWN, 0, 0, false, null, java.util.Objects.requireNonNull(why, "why"));
    }

    /**
     * Decodes a wait(2)-style status word (as in PIDFD_INFO_EXIT's exit_code), as the C library's WIFEXITED,
     * WIFSIGNALED, WIFSTOPPED and WIFCONTINUED macros do.
     *
     * @param status the raw status word, as WIFEXITED and friends read it
     * @param usage  the resource usage to attach, or null when unknown
     * @return the EXITED, KILLED, STOPPED or CONTINUED status the word encodes; UNKNOWN for a word that none
     *         of those macros accepts (no kernel produces one)
     */
    public static ExitStatus fromWaitStatus(int status, ResourceUsage usage) {
        return WaitStatus.decode(status, usage);
    }

    /**
     * Whether the process succeeded.
     *
     * @return true for a normal exit with code 0, false for anything else
     */
    public boolean success() {
        return kind == Kind.EXITED && code == 0;
    }

    /**
     * Resource usage, present for children reaped by fdkit.
     *
     * @return the usage, or empty when fdkit did not reap the process
     */
    public Optional<ResourceUsage> resourceUsage() {
        return Optional.ofNullable(usage);
    }

    /**
     * The status as a shell's {@code $?} would show it.
     *
     * @return the code for EXITED, 128 + signal for KILLED (and STOPPED), -1 for CONTINUED and UNKNOWN
     */
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
