package dev.fdkit;

import dev.fdkit.internal.Fd;
import dev.fdkit.internal.SyscallException;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * fdkit's own one-shot interest in one of its descriptors on the shared poller, re-armed for each wait:
 * how EventFd and the pipe streams block (parking in Java, safe on virtual threads) while the descriptor
 * itself stays non-blocking.
 * <p>
 * What it registers is a duplicate of the descriptor (F_DUPFD_CLOEXEC, made on the first wait). epoll
 * keys an interest by open file <em>and</em> descriptor number, so the duplicate reports the same file's
 * readiness while the object itself stays free for the user to register on the same poller: registering
 * the object's own number here would make the user's epoll_ctl, or ours, fail with EEXIST.
 */
final class ReadinessWait {
    private final Fd target;
    private final String name;
    private Duplicate duplicate; // guarded by this; made on the first arm
    private Poller.Registration registration; // guarded by this
    private boolean closed; // guarded by this
    private volatile Runnable onReady = () -> { };
    private volatile CompletableFuture<Void> waiter;

    /** The registered stand-in: its Fd is the duplicate, which the poller follows like any fdkit descriptor. */
    record Duplicate(Fd descriptor) implements Descriptors.Owned {
        @Override
        public int fd() {
            return Descriptors.number(descriptor);
        }
    }

    ReadinessWait(Fd target, String name) {
        this.target = target;
        this.name = name;
    }

    /**
     * Arms the interest in {@code events}: {@code onReady} runs once, on the poller thread, when the
     * descriptor is ready. Returns false, arming nothing, once the wait or the descriptor is closed.
     *
     * @throws SyscallException if the duplicate cannot be made (EMFILE)
     */
    synchronized boolean arm(int events, Runnable onReady) throws SyscallException {
        if (closed) return false;
        this.onReady = onReady;
        if (registration == null) {
            if (duplicate == null) {
                Fd d = duplicate();
                if (d == null) return false;
                duplicate = new Duplicate(d);
            }
            registration = Poller.shared().register(duplicate, events, Poller.Trigger.ONE_SHOT, (r, ready) -> this.onReady.run());
        } else {
            registration.rearm(events);
        }
        return true;
    }

    /** A close-on-exec duplicate of the target, closed with it (also by a Cleaner); null if the target is closed. */
    private Fd duplicate() throws SyscallException {
        Fd d = target.duplicate(name + " wait");
        if (d == null) return null;
        // Holds the duplicate only, never this wait or its owner: a Cleaner closing the target closes it too.
        if (!target.addCloseHook(d::close)) {
            d.close();
            return null;
        }
        return d;
    }

    /** Parks until the descriptor is ready for {@code events}; IOException if it is closed meanwhile. */
    void await(int events) throws IOException {
        CompletableFuture<Void> ready = new PollerSafeFuture<>();
        waiter = ready;
        try {
            if (!arm(events, () -> ready.complete(null))) throw new IOException(name + " closed");
            ready.get();
        } catch (SyscallException e) {
            throw ErrnoException.of(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for " + name);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } finally {
            waiter = null;
        }
    }

    /**
     * Stops for good: closes the duplicate (its close hook takes it out of the poller, waiting for an
     * onReady running on another thread) and wakes a parked {@link #await} with "closed". Idempotent.
     * Call it before closing the target, so an onReady never finds the target closed.
     */
    void close() {
        Duplicate d;
        synchronized (this) {
            closed = true;
            d = duplicate;
        }
        if (d != null) d.descriptor().close(); // outside the lock: a running onReady may be about to arm()
        CompletableFuture<Void> w = waiter;
        if (w != null) w.completeExceptionally(new IOException(name + " closed"));
    }
}
