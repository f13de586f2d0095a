package dev.fdkit;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A one-shot interest of one fdkit descriptor on the shared poller, registered on first use and re-armed
 * for each wait: how the pipe streams block (parking in Java, safe on virtual threads) while the
 * descriptor itself stays non-blocking.
 */
final class ReadinessWait {
    private final FdOwner target;
    private final int events;
    private final String name;
    private Poller.Registration registration; // guarded by this
    private volatile Runnable onReady = () -> { };
    private volatile CompletableFuture<Void> waiter;

    ReadinessWait(FdOwner target, int events, String name) {
        this.target = target;
        this.events = events;
        this.name = name;
    }

    /** Arms the interest: {@code onReady} runs once, on the poller thread, when the descriptor is ready. */
    synchronized void arm(Runnable onReady) throws IOException {
        this.onReady = onReady;
        try {
            if (registration == null) {
                registration = Poller.shared().register(target, events, Poller.Trigger.ONE_SHOT, (r, ready) -> this.onReady.run());
            } else {
                registration.rearm();
            }
        } catch (IllegalStateException closed) {
            throw new IOException(name + " closed", closed);
        }
    }

    /** Parks until the descriptor is ready; IOException if it is closed meanwhile. */
    void await() throws IOException {
        CompletableFuture<Void> ready = new CompletableFuture<>();
        waiter = ready;
        try {
            arm(() -> ready.complete(null));
            ready.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for " + name);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } finally {
            waiter = null;
        }
    }

    /** Wakes a parked {@link #await()} with "closed" (the descriptor's close hook has cancelled the interest). */
    void closed() {
        CompletableFuture<Void> w = waiter;
        if (w != null) w.completeExceptionally(new IOException(name + " closed"));
    }
}
