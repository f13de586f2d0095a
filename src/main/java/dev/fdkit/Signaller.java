package dev.fdkit;

import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;


/**
 * Signals to a process, the group it leads, or its tree, never to a recycled pid: through the pidfd
 * (pidfd_send_signal), or, where that is missing, with kill(2) while {@link ExitWatch#whileUnreaped} holds
 * our child unreaped. A process that is not our child is then not signalled at all.
 */
final class Signaller {
    private final ExitWatch watch;
    private final boolean leadsGroup; // spawned as a group leader: KILL_ON_CLOSE ends the whole group

    Signaller(ExitWatch watch, boolean leadsGroup) {
        this.watch = watch;
        this.leadsGroup = leadsGroup;
    }

    static void checkSignal(int signal) {
        if (signal < 0 || signal > 64) throw new IllegalArgumentException("signal must be between 0 and 64, was " + signal);
    }

    boolean signal(int signal) {
        checkSignal(signal);
        watch.checkOpen();
        return send(signal);
    }

    boolean signalGroup(int signal) {
        checkSignal(signal);
        watch.checkOpen();
        return sendToGroup(signal);
    }

    int signalTree(int signal) {
        checkSignal(signal);
        watch.checkOpen();
        Pidfd pidfd = watch.pidfd();
        if (pidfd == null || !Linux.has(Feature.PIDFD_SEND_SIGNAL)) {
            Capability missing = Linux.feature(pidfd == null ? Feature.PIDFD_OPEN : Feature.PIDFD_SEND_SIGNAL);
            throw new UnsupportedOperationException("cannot signal a process tree race-free without " + missing.feature().displayName()
                    + " (" + missing.cause() + ")");
        }
        try { // closed, and the watch has let go: the process is gone
            return pidfd.ifOpen(() -> 0, number -> ProcessTree.signal(watch.pid, number, signal));
        } catch (SyscallException e) {
            throw ErrnoException.unchecked(e);
        }
    }

    /** KILL_ON_CLOSE: at close(), at ProcessSet.closeAndKill() and when the JVM exits; never throws. */
    void killForClose() {
        try {
            if (leadsGroup) sendToGroup(Uapi.SIGKILL); // also what is left of the group once the leader is gone
            else send(Uapi.SIGKILL);
        } catch (RuntimeException ignored) {
            // already gone
        }
    }

    private boolean send(int signal) {
        if (watch.exitKnown()) return false;
        try {
            Pidfd pidfd = watch.pidfd();
            if (pidfd != null && Linux.has(Feature.PIDFD_SEND_SIGNAL)) {
                // pidfd_send_signal succeeds on a zombie: an exited process that its parent has not reaped yet (a
                // non-child whose parent is slow, or our child just before the poller reaps it) would count as
                // signalled. The pidfd is readable from exit on, so look first; a process that exits between the
                // look and the send only gets a signal it ignores as a zombie. Closed: the watch has let go, it is gone.
                return pidfd.ifOpen(() -> false, number -> !Pidfd.exited(number) && Syscalls.pidfdSendSignal(number, signal, 0));
            }
            if (!watch.child) {
                Capability missing = Linux.feature(pidfd == null ? Feature.PIDFD_OPEN : Feature.PIDFD_SEND_SIGNAL);
                throw new UnsupportedOperationException("cannot signal pid " + watch.pid + " race-free without " + missing.feature().displayName()
                        + " (" + missing.cause() + "): it is not our child, so its pid may be recycled");
            }
            // kill(2) too succeeds on a zombie: an exited child the reaper has not reached yet counts as exited.
            return watch.whileUnreaped(() -> false, pid -> ExitProbe.childRunning(pid) && Syscalls.kill(pid, signal));
        } catch (SyscallException e) {
            throw ErrnoException.unchecked(e);
        }
    }

    private boolean sendToGroup(int signal) {
        try {
            Pidfd pidfd = watch.pidfd();
            if (pidfd != null && Linux.has(Feature.PIDFD_SIGNAL_PROCESS_GROUP)) {
                return pidfd.ifOpen(() -> false, number -> {
                    // While it runs, the pid is its own: check it leads a group. Once it has exited, the kernel
                    // alone knows whether its group lives on.
                    if (!Pidfd.exited(number)) requireGroupLeader();
                    return Syscalls.pidfdSendSignal(number, signal, Uapi.PIDFD_SIGNAL_PROCESS_GROUP);
                });
            }
            if (!watch.child) {
                throw new UnsupportedOperationException("cannot signal the process group of pid " + watch.pid + " race-free: it is not our child, and "
                        + Feature.PIDFD_SIGNAL_PROCESS_GROUP.displayName() + " is unavailable (" + Linux.feature(Feature.PIDFD_SIGNAL_PROCESS_GROUP).cause() + ")");
            }
            return watch.whileUnreaped(() -> false, pid -> { // unreaped: the pid, and so the group id it leads, is still ours
                requireGroupLeader();
                return Syscalls.kill(-pid, signal);
            });
        } catch (SyscallException e) {
            throw ErrnoException.unchecked(e);
        }
    }

    private void requireGroupLeader() throws SyscallException {
        int group = Syscalls.getpgid(watch.pid);
        if (group >= 0 && group != watch.pid) {
            throw new IllegalStateException("pid " + watch.pid + " does not lead a process group (it is in group " + group
                    + "): start it with SpawnOption.NEW_PROCESS_GROUP or NEW_SESSION to signal its group");
        }
    }
}
