package dev.fdkit;

import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.time.Duration;

/**
 * The one decoder of wait statuses. Every status fdkit reads — waitid's siginfo, PIDFD_INFO_EXIT's exit_code,
 * {@link ExitStatus#fromWaitStatus} — is decoded by {@link #decode}, the C library's WIFEXITED, WEXITSTATUS,
 * WIFSIGNALED, WTERMSIG, WCOREDUMP, WIFSTOPPED, WSTOPSIG and WIFCONTINUED written out (they are function-like
 * macros, which jextract does not translate). WaitStatusTest checks them against those macros compiled by gcc,
 * and {@link #fromWaitid}'s encoding against what the kernel reports through waitid and waitpid for one event.
 */
final class WaitStatus {
    private WaitStatus() {}

    /**
     * A wait(2) status word as an ExitStatus: EXITED, KILLED, STOPPED or CONTINUED as the macros say, UNKNOWN
     * for a word none of them accepts (no kernel produces one).
     */
    static ExitStatus decode(int word, ResourceUsage usage) {
        int low = word & 0x7f;
        int high = (word >> 8) & 0xff;
        if (low == 0) return ExitStatus.exited(high, usage); // WIFEXITED, WEXITSTATUS
        if ((word & 0xff) == 0x7f) return new ExitStatus(ExitStatus.Kind.STOPPED, 0, high, false, usage, ""); // WIFSTOPPED, WSTOPSIG
        if (word == 0xffff) return new ExitStatus(ExitStatus.Kind.CONTINUED, 0, 0, false, usage, ""); // WIFCONTINUED
        if (low != 0x7f) return ExitStatus.killed(low, (word & 0x80) != 0, usage); // WIFSIGNALED, WTERMSIG, WCOREDUMP
        return new ExitStatus(ExitStatus.Kind.UNKNOWN, 0, 0, false, usage,
                "wait status 0x" + Integer.toHexString(word) + " encodes no exit, signal, stop or continue");
    }

    /** waitid's answer, as the status word wait(2) would have given for the same event, decoded, with the child's usage. */
    static ExitStatus fromWaitid(Syscalls.WaitResult w) {
        ResourceUsage usage = new ResourceUsage(Duration.ofNanos(w.userMicros() * 1000), Duration.ofNanos(w.systemMicros() * 1000), w.maxRssKilobytes());
        int code = w.code();
        int status = w.status();
        // The kernel's own encoding (kernel/exit.c): si_status is the exit code, or the signal.
        if (code == Uapi.CLD_EXITED) return decode((status & 0xff) << 8, usage);
        if (code == Uapi.CLD_KILLED) return decode(status & 0x7f, usage);
        if (code == Uapi.CLD_DUMPED) return decode((status & 0x7f) | 0x80, usage);
        if (code == Uapi.CLD_STOPPED || code == Uapi.CLD_TRAPPED) return decode((status & 0xff) << 8 | 0x7f, usage);
        if (code == Uapi.CLD_CONTINUED) return decode(0xffff, usage);
        return ExitStatus.unknown("waitid reported si_code " + code);
    }
}
