package dev.fdkit;

import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * Exit watching without pidfds: one daemon thread polls every watched process each few milliseconds.
 * Children are reaped with waitid(P_PID, WNOHANG) under their reapLock, the same lock kill(2) takes, so a
 * signal never reaches a recycled pid. Non-children are recognised by pid plus start time from /proc.
 * <p>
 * Exit futures complete on this thread, outside any lock, so their dependents may block in fdkit waits as
 * on the shared poller's thread: {@link #beforeBlocking()} hands the loop to a new reaper thread, and the
 * blocked one ends once its callback returns.
 */
final class FallbackReaper {
    private FallbackReaper() {}

    private static final long PERIOD_NANOS = 5_000_000;
    private static final Set<ProcessDescriptor.Watch> WATCHED = ConcurrentHashMap.newKeySet();
    private static volatile Thread thread; // the one running the loop; written under FallbackReaper.class

    static void watch(ProcessDescriptor.Watch watch) {
        WATCHED.add(watch);
        synchronized (FallbackReaper.class) {
            if (thread == null) startLoop();
        }
        LockSupport.unpark(thread);
    }

    /** Called by blocking fdkit waits: on the reaper thread, in an exit callback, a new thread takes over the loop. */
    static void beforeBlocking() {
        if (Thread.currentThread() != thread) return;
        synchronized (FallbackReaper.class) {
            startLoop();
        }
    }

    private static void startLoop() {
        Thread next = Thread.ofPlatform().daemon().name("fdkit-reaper").unstarted(FallbackReaper::run);
        thread = next; // before start: the loop runs while it is the one named here
        next.start();
    }

    /** A non-child's descriptor was closed: stop looking at it. */
    static void unwatch(ProcessDescriptor.Watch watch) {
        WATCHED.remove(watch);
    }

    static boolean isAlive(ProcessDescriptor.Watch watch) {
        if (!watch.child) return startTicks(watch.pid) == watch.startTicks;
        synchronized (watch.reapLock) {
            if (watch.exit.isDone()) return false;
            try {
                return Syscalls.waitid(Uapi.P_PID, watch.pid, Uapi.WEXITED | Uapi.WNOHANG | Uapi.WNOWAIT, true) == null;
            } catch (SyscallException e) {
                return false;
            }
        }
    }

    /** Field 22 of /proc/PID/stat (start time in clock ticks), or -1 if there is no such process. */
    static long startTicks(int pid) {
        String ticks = ProcStat.field(pid, 22);
        return ticks == null ? -1 : Long.parseLong(ticks);
    }

    private static void run() {
        Thread self = Thread.currentThread();
        while (thread == self) {
            if (WATCHED.isEmpty()) LockSupport.park();
            for (ProcessDescriptor.Watch watch : WATCHED) {
                if (thread != self) return; // a callback blocked here: the loop has moved on
                ExitStatus status;
                try {
                    status = check(watch);
                } catch (RuntimeException | SyscallException e) {
                    status = ExitStatus.unknown("waiting failed: " + e.getMessage());
                }
                if (status != null && WATCHED.remove(watch)) watch.completeFromFallback(status); // outside reapLock
            }
            LockSupport.parkNanos(PERIOD_NANOS);
        }
    }

    /** The exit status if the process has ended (a child: reaped now), else null. */
    private static ExitStatus check(ProcessDescriptor.Watch watch) throws SyscallException {
        if (!watch.child) {
            return startTicks(watch.pid) == watch.startTicks ? null
                    : ExitStatus.unknown("not our child, and without pidfds the kernel cannot tell its exit status");
        }
        synchronized (watch.reapLock) {
            if (watch.isReaped()) return null; // by the thread that handed the loop on: it completes the future
            Syscalls.WaitResult w = Syscalls.waitid(Uapi.P_PID, watch.pid, Uapi.WEXITED | Uapi.WNOHANG, false);
            return w == null ? null : watch.reapedBy(w);
        }
    }
}
