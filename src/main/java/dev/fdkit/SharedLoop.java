package dev.fdkit;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The shared poller's loop and its hand-off: which {@link PollBatch} (so which thread) runs the loop now, and
 * the move of the loop to a new {@code fdkit-poller} thread when a callback on it is about to block in an fdkit
 * wait (see the Poller class comment). Every blocking fdkit wait calls {@link #beforeBlocking()} first.
 */
final class SharedLoop {
    private static final System.Logger LOG = System.getLogger("dev.fdkit.Poller");

    /** The batch whose thread runs the shared poller's loop now; another one once a callback blocked. */
    private static volatile PollBatch current;

    /** Set by the shutdown hook: from then on the loop waits in Java between polls, never in epoll_wait. */
    private static volatile boolean exiting;
    private static final long EXIT_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private SharedLoop() {
    }

    /**
     * At exit HotSpot waits up to 300 ms for every thread inside a native call to come out
     * (VM_Exit::wait_for_threads_in_native_to_block), and an idle loop thread sits in epoll_wait: every JVM
     * using fdkit took 0.3 s longer to exit. A shutdown hook turns the loop into a poll without timeout and a
     * 1 ms park in Java, for the rest of the JVM's life: shutdown hooks still waiting on fdkit are served.
     */
    static void leaveNativeAtExit(Poller shared) {
        Thread hook = Thread.ofPlatform().name("fdkit-exit").unstarted(() -> {
            exiting = true;
            shared.wakeup(); // out of the epoll_wait it is in now
        });
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            exiting = true;
        }
    }

    /** The loop, on a new thread that takes over {@code batch} until it hands the loop on; unchanged if no thread starts. */
    static void start(PollBatch batch) {
        PollBatch previous = current;
        Thread thread = Thread.ofPlatform().daemon().name("fdkit-poller").unstarted(() -> run(batch));
        batch.thread = thread;
        current = batch; // before start: a blocking callback on the new thread must find itself here
        try {
            thread.start();
        } catch (Throwable t) { // OutOfMemoryError: no thread can be created (RLIMIT_NPROC, clone3 refused)
            current = previous;
            throw t;
        }
    }

    private static void run(PollBatch batch) {
        while (current == batch) {
            try {
                if (batch.isDone()) awaitEvents(batch);
                batch.dispatch();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "fdkit poller loop failed; continuing", t);
            }
        }
    }

    /** epoll_wait until something is ready; once the JVM is exiting, a poll and a park in Java instead (leaveNativeAtExit). */
    private static void awaitEvents(PollBatch batch) {
        if (!exiting) batch.fill(-1);
        else if (batch.fill(0) && batch.isDone()) LockSupport.parkNanos(EXIT_POLL_NANOS);
    }

    /** On a poll of the hosted shared poller: the caller runs the loop, unless a blocking wait handed it to a thread. */
    static boolean hostLoop(PollBatch batch) {
        PollBatch loop = current;
        if (loop != null && loop != batch) return false; // an fdkit-poller thread runs it now
        batch.thread = Thread.currentThread();
        current = batch; // after `thread`: beforeBlocking on this thread finds the loop it runs
        return true;
    }

    /** Whether the caller runs the shared poller's loop now, and so must never wait for its own work. */
    static boolean isLoopThread() {
        return ofThisThread() != null;
    }

    /** The shared poller's batch if the caller runs its loop now, else null. */
    private static PollBatch ofThisThread() {
        PollBatch loop = current;
        return loop != null && loop.thread == Thread.currentThread() ? loop : null;
    }

    /**
     * Called by every blocking fdkit wait before it blocks: on the shared poller's loop thread, hands the loop
     * to a new thread first. Anywhere else: nothing, one volatile read.
     */
    static void beforeBlocking() {
        PollBatch loop = ofThisThread();
        if (loop != null) handOff(loop);
        else FallbackReaper.beforeBlocking(); // without pidfds, exit callbacks run on the reaper's thread
    }

    /**
     * On the loop thread, in a callback about to block: a new thread takes over the loop with the events of
     * this batch not dispatched yet; this thread finishes its callback and ends. The blocked registration, if
     * level-triggered, leaves epoll until its handler returns.
     */
    private static void handOff(PollBatch blocked) {
        PollBatch rest = blocked.takeRest();
        try {
            start(rest);
        } catch (Throwable t) { // no thread to be had (RLIMIT_NPROC): the loop stays here and waits with the callback
            blocked.putBack(rest);
            LOG.log(System.Logger.Level.WARNING, "fdkit poller: no thread to hand the loop to while a callback blocks", t);
            return;
        }
        if (blocked.dispatching != null) blocked.dispatching.muteWhileBlocked();
    }
}
