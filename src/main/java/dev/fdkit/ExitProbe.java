package dev.fdkit;

import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

/**
 * The looks that tell whether, and how, a process has ended: one non-blocking syscall each, no state. The
 * {@link ExitWatch} calls them under its lock and makes the transition they call for.
 */
final class ExitProbe {
    private ExitProbe() {}

    /** What one look found. */
    sealed interface Result permits Pending, Exited {}

    /** Nothing to report yet, for one of two named reasons. */
    enum Pending implements Result {
        /** The process runs (or is stopped): look again when the pidfd is readable. */
        STILL_RUNNING,
        /** Not our child, exited, but PIDFD_INFO_EXIT is published only once its parent has reaped it. */
        NOT_YET_PUBLISHED
    }

    /** The process has ended with this status (for our child: it has just been reaped). */
    record Exited(ExitStatus status) implements Result {}

    @FunctionalInterface
    interface Look {
        Result look() throws SyscallException;
    }

    /** {@code look}, or an UNKNOWN exit saying {@code failing} and why if it fails: a watch never ends without a status. */
    static Result orUnknown(String failing, Look look) {
        try {
            return look.look();
        } catch (SyscallException | RuntimeException e) {
            return new Exited(ExitStatus.unknown(failing + " failed: " + e.getMessage()));
        }
    }

    /**
     * Reaps our child if it has ended: waitid(WEXITED | WNOHANG) on its pidfd ({@code number}), or on its pid
     * without one (-1) or without waitid(P_PIDFD) (Linux 5.3, or seccomp): as exact, since an unreaped child's
     * pid is still ours. The caller holds the watch's lock: this is the one place a child is reaped.
     */
    static Result reapChild(int pid, int number) throws SyscallException {
        Syscalls.WaitResult w = number >= 0 && Linux.has(Feature.WAITID_P_PIDFD)
                ? Syscalls.waitid(Uapi.P_PIDFD, number, Uapi.WEXITED | Uapi.WNOHANG, false)
                : Syscalls.waitid(Uapi.P_PID, pid, Uapi.WEXITED | Uapi.WNOHANG, false);
        return w == null ? Pending.STILL_RUNNING : new Exited(WaitStatus.fromWaitid(w));
    }

    /** Whether our child has not ended, leaving it waitable (WNOWAIT): the no-pidfd isAlive. */
    static boolean childRunning(int pid) {
        try {
            return Syscalls.waitid(Uapi.P_PID, pid, Uapi.WEXITED | Uapi.WNOHANG | Uapi.WNOWAIT, true) == null;
        } catch (SyscallException e) {
            return false;
        }
    }

    /** Someone else's child (possibly the JDK's), pidfd readable: look (WNOWAIT), leave the reaping to its owner. */
    static Result otherExited(int number) throws SyscallException {
        Syscalls.WaitResult w = Linux.has(Feature.WAITID_P_PIDFD)
                ? Syscalls.waitid(Uapi.P_PIDFD, number, Uapi.WEXITED | Uapi.WNOHANG | Uapi.WNOWAIT, true) : null;
        return w != null ? new Exited(WaitStatus.fromWaitid(w)) : exitInfo(number);
    }

    /** PIDFD_INFO_EXIT (Linux 6.15): the status of a process that is not our child, once its parent has reaped it. */
    static Result exitInfo(int number) throws SyscallException {
        Capability infoExit = Linux.feature(Feature.PIDFD_INFO_EXIT);
        if (!infoExit.available()) return new Exited(ExitStatus.unknown("not our child, and PIDFD_INFO_EXIT is unavailable: " + infoExit.cause()));
        Integer waitStatus = Syscalls.pidfdExitStatus(number);
        return waitStatus == null ? Pending.NOT_YET_PUBLISHED : new Exited(WaitStatus.decode(waitStatus, null));
    }

    /** Without pidfds, another process is told from a later one with its pid by its start time. */
    static Result otherByStartTime(int pid, long startTicks) {
        return startTicks(pid) == startTicks ? Pending.STILL_RUNNING
                : new Exited(ExitStatus.unknown("not our child, and without pidfds the kernel cannot tell its exit status"));
    }

    /** Field 22 of /proc/PID/stat (start time in clock ticks), or -1 if there is no such process. */
    static long startTicks(int pid) {
        String ticks = ProcStat.field(pid, 22);
        return ticks == null ? -1 : Long.parseLong(ticks);
    }
}
