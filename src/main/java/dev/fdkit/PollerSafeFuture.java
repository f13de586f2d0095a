package dev.fdkit;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The CompletableFuture fdkit hands out and waits on: a blocking {@code get} or {@code join} on the shared
 * poller's thread (in an onExit dependent, say) first hands the poller's loop to another thread, so the
 * completion it waits for can still arrive (see {@link Poller}, "Blocking on the shared poller's thread").
 * Dependent stages are of this class too. Anywhere else it is a plain CompletableFuture.
 */
final class PollerSafeFuture<T> extends CompletableFuture<T> {
    @Override
    public T get() throws InterruptedException, ExecutionException {
        if (!isDone()) SharedLoop.beforeBlocking();
        return super.get();
    }

    @Override
    public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
        if (!isDone()) SharedLoop.beforeBlocking();
        return super.get(timeout, unit);
    }

    @Override
    public T join() {
        if (!isDone()) SharedLoop.beforeBlocking();
        return super.join();
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        return new PollerSafeFuture<>();
    }
}
