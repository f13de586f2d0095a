package dev.fdkit;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * Exit watching without pidfds: one daemon thread asks every watched {@link Target} to look once, each few
 * milliseconds. What a look does (reap a child by pid under its watch's lock, the lock kill(2) takes; tell
 * another process by its start time) is the target's business: the reaper only runs the loop.
 * <p>
 * Exit futures complete on this thread, outside any lock, so their dependents may block in fdkit waits as
 * on the shared poller's thread: {@link #beforeBlocking()} hands the loop to a new reaper thread, and the
 * blocked one ends once its callback returns.
 */
final class FallbackReaper {
    private FallbackReaper() {}

    /** What the reaper watches: the one thing it may ask of it. */
    interface Target {
        /**
         * Looks once, without blocking; if the process has ended, completes its exit (on this thread, outside
         * any lock). Returns true once there is nothing left to watch (exited, or no longer wanted).
         */
        boolean pollExit();
    }

    private static final long PERIOD_NANOS = 5_000_000;
    private static final Set<Target> WATCHED = ConcurrentHashMap.newKeySet();
    private static volatile Thread thread; // the one running the loop; written under FallbackReaper.class

    static void watch(Target target) {
        WATCHED.add(target);
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

    /** The target no longer wants watching (a closed descriptor on another process). */
    static void unwatch(Target target) {
        WATCHED.remove(target);
    }

    private static void run() {
        Thread self = Thread.currentThread();
        while (thread == self) {
            if (WATCHED.isEmpty()) LockSupport.park();
            for (Target target : WATCHED) {
                if (thread != self) return; // a callback blocked here: the loop has moved on
                if (target.pollExit()) WATCHED.remove(target);
            }
            LockSupport.parkNanos(PERIOD_NANOS);
        }
    }
}
