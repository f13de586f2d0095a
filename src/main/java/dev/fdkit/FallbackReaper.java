package dev.fdkit;

import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * Exit watching without pidfds: one daemon thread polls every watched process each few milliseconds.
 * Children are reaped with waitid(P_PID, WNOHANG) under their reapLock, the same lock kill(2) takes, so a
 * signal never reaches a recycled pid. Non-children are recognised by pid plus start time from /proc.
 */
final class FallbackReaper {
    private FallbackReaper() {}

    private static final long PERIOD_NANOS = 5_000_000;
    private static final Set<ProcessDescriptor.Watch> WATCHED = ConcurrentHashMap.newKeySet();
    private static Thread thread; // guarded by FallbackReaper.class

    static void watch(ProcessDescriptor.Watch watch) {
        WATCHED.add(watch);
        synchronized (FallbackReaper.class) {
            if (thread == null) thread = Thread.ofPlatform().daemon().name("fdkit-reaper").start(FallbackReaper::run);
        }
        LockSupport.unpark(thread);
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
            } catch (ErrnoException e) {
                return false;
            }
        }
    }

    /** Field 22 of /proc/PID/stat (start time in clock ticks), or -1 if there is no such process. */
    static long startTicks(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(fields[19]); // fields after "(comm)" start at field 3
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static void run() {
        for (;;) {
            if (WATCHED.isEmpty()) LockSupport.park();
            for (ProcessDescriptor.Watch watch : WATCHED) {
                try {
                    check(watch);
                } catch (RuntimeException | ErrnoException e) {
                    WATCHED.remove(watch);
                    watch.completeFromFallback(ExitStatus.unknown("waiting failed: " + e.getMessage()));
                }
            }
            LockSupport.parkNanos(PERIOD_NANOS);
        }
    }

    private static void check(ProcessDescriptor.Watch watch) throws ErrnoException {
        if (!watch.child) {
            if (startTicks(watch.pid) != watch.startTicks) {
                WATCHED.remove(watch);
                watch.completeFromFallback(ExitStatus.unknown("not our child, and without pidfds the kernel cannot tell its exit status"));
            }
            return;
        }
        synchronized (watch.reapLock) {
            Syscalls.WaitResult w = Syscalls.waitid(Uapi.P_PID, watch.pid, Uapi.WEXITED | Uapi.WNOHANG, false);
            if (w == null) return;
            WATCHED.remove(watch);
            watch.completeFromFallback(watch.reapedBy(w));
        }
    }
}
