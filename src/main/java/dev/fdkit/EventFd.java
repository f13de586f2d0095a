package dev.fdkit;

import dev.fdkit.internal.Fd;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.IOException;
import java.lang.ref.Cleaner;
import java.io.UncheckedIOException;
import java.util.OptionalLong;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;

/**
 * An eventfd(2): a 64-bit kernel counter with a descriptor that is readable while the counter is non-zero.
 * <p>
 * Counter mode ({@link #open()}): {@link #read()} returns the whole count and resets it to zero.
 * Semaphore mode ({@link #openSemaphore()}): each read returns 1 and decrements the count by one.
 * <p>
 * Values are unsigned 64-bit; the counter holds at most 2<sup>64</sup>-2. The descriptor is always
 * close-on-exec and non-blocking: blocking methods wait through the shared {@link Poller} and park in
 * Java, so they are safe on virtual threads and pin no carrier. When a {@link #signal(long)} would take
 * the counter past its maximum, {@code signal} waits until a reader makes room, while
 * {@link #trySignal(long)} returns false at once.
 * <p>
 * All methods are thread-safe. After {@link #close()} every method throws IllegalStateException, and no
 * syscall is issued on the old descriptor number.
 */
public final class EventFd implements Descriptors.Owned, AutoCloseable {
    /** The largest value the counter can hold, 2^64-2, as an unsigned long. */
    public static final long MAX_COUNT = -2L;


    private final Fd fd;
    private final boolean semaphore;
    private final Cleaner.Cleanable cleanable;
    private final ConcurrentLinkedQueue<CompletableFuture<Long>> readers = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<CompletableFuture<Void>> writers = new ConcurrentLinkedQueue<>();
    private final ReadinessWait waits; // fdkit's own interest, on a duplicate: the user may register this EventFd too
    private final Runnable onReady = this::onReady;

    private EventFd(int initialValue, boolean semaphore) {
        int flags = Uapi.EFD_CLOEXEC | Uapi.EFD_NONBLOCK | (semaphore ? Uapi.EFD_SEMAPHORE : 0);
        Cleaner cleaner = Fd.cleaner(); // before the descriptor: if its thread cannot start, nothing is left open
        try {
            this.fd = new Fd(Syscalls.eventfd(initialValue, flags), "EventFd");
        } catch (SyscallException e) {
            throw ErrnoException.unchecked(e);
        }
        this.semaphore = semaphore;
        this.waits = new ReadinessWait(fd, "EventFd");
        Fd owned = this.fd;
        // Backstop for a leaked EventFd; close() is the path. Closing the Fd closes the waits' duplicate too.
        this.cleanable = cleaner.register(this, owned::close);
    }

    /**
     * A counter-mode eventfd starting at 0.
     *
     * @return a new open eventfd, owned by the caller: close it
     * @throws UncheckedIOException if eventfd(2) fails (EMFILE, ENFILE, ENOMEM)
     */
    public static EventFd open() {
        return new EventFd(0, false);
    }

    /**
     * A semaphore-mode eventfd (EFD_SEMAPHORE) starting at 0.
     *
     * @return a new open eventfd, owned by the caller: close it
     * @throws UncheckedIOException if eventfd(2) fails (EMFILE, ENFILE, ENOMEM)
     */
    public static EventFd openSemaphore() {
        return new EventFd(0, true);
    }

    /**
     * Whether this eventfd was opened in semaphore mode.
     *
     * @return true if each read takes 1 ({@link #openSemaphore()}), false if it takes the whole count
     */
    public boolean isSemaphore() {
        return semaphore;
    }

    /** The eventfd's descriptor, readable while the counter is non-zero. */
    @Override
    public int fd() {
        return Descriptors.number(fd);
    }

    Fd descriptor() {
        return fd;
    }

    /**
     * Adds {@code n} to the counter, waiting while that would exceed {@link #MAX_COUNT}.
     *
     * @param n between 1 and Long.MAX_VALUE
     * @throws IllegalArgumentException if n is not positive
     * @throws InterruptedException     if interrupted while waiting for room; the counter is then unchanged
     */
    public void signal(long n) throws InterruptedException {
        checkValue(n);
        while (!trySignal(n)) {
            CompletableFuture<Void> room = new PollerSafeFuture<>();
            writers.add(room);
            armFor(writers, room);
            failIfClosed(room);
            if (trySignal(n)) { // a reader made room before we were queued
                room.cancel(false);
                return;
            }
            await(room);
        }
    }

    /**
     * Adds {@code n} to the counter unless that would exceed {@link #MAX_COUNT}; never blocks.
     *
     * @param n between 1 and Long.MAX_VALUE
     * @return false if the counter was left unchanged because it would overflow
     */
    public boolean trySignal(long n) {
        checkValue(n);
        return write(n);
    }

    /** Adds {@code n} unless closed, never blocking: false if closed or full. For a signal racing with close(). */
    boolean signalIfOpen(long n) {
        int number = fd.tryAcquire();
        return number >= 0 && write(number, n);
    }

    private boolean write(long n) {
        return write(fd.acquire(), n);
    }

    /** eventfd_write on {@code number}, acquired from {@code fd} by the caller; releases it. */
    private boolean write(int number, long n) {
        try {
            return Syscalls.eventfdWrite(number, n);
        } catch (SyscallException e) {
            throw ErrnoException.unchecked(e);
        } finally {
            fd.release();
        }
    }

    /**
     * Waits until the counter is non-zero, then reads it: the whole count (reset to zero), or 1 in
     * semaphore mode. The value is unsigned: use {@link Long#toUnsignedString(long)} past Long.MAX_VALUE.
     *
     * @return the value read, never 0
     * @throws InterruptedException if interrupted while waiting; no count is consumed then
     */
    public long read() throws InterruptedException {
        long value = tryReadValue();
        if (value != 0) return value;
        CompletableFuture<Long> result = readAsync();
        try {
            return await(result);
        } catch (InterruptedException e) {
            if (result.cancel(false)) throw e;
            Thread.currentThread().interrupt(); // the value arrived first: keep it, keep the interrupt
            return result.join();
        }
    }

    /**
     * Reads the counter if it is non-zero; never blocks.
     *
     * @return the value read (the whole count, or 1 in semaphore mode), or empty if the counter was zero
     */
    public OptionalLong tryRead() {
        long value = tryReadValue();
        return value == 0 ? OptionalLong.empty() : OptionalLong.of(value);
    }

    /**
     * {@link #tryRead()} without the Optional, for loops that must not allocate.
     *
     * @return the value read, or 0 if the counter was zero (a read never yields 0)
     */
    public long tryReadValue() {
        int number = fd.acquire();
        try {
            return Syscalls.eventfdRead(number);
        } catch (SyscallException e) {
            throw ErrnoException.unchecked(e);
        } finally {
            fd.release();
        }
    }

    /**
     * A future completed by the shared poller's thread with the next value read. Cancelling it gives up
     * the claim: a value read for a cancelled future is added back to the counter, so nothing is lost.
     * Closing the EventFd fails pending futures with an IOException. The future completes on the shared
     * poller's thread: dependent stages attached with the non-async methods run there, so keep them short
     * (or use the *Async variants), or every fdkit wait in the process stalls behind them.
     *
     * @return a future of the value read, already complete if the counter was non-zero and no read was queued
     */
    public CompletableFuture<Long> readAsync() {
        // Checked first, not only by the read below (skipped while futures are queued): close() drains the queue,
        // and callers that kept queueing failed futures after it could keep that drain from ever ending.
        if (fd.isClosed()) throw fd.closedException();
        if (readers.isEmpty()) {
            long value = tryReadValue();
            if (value != 0) return CompletableFuture.completedFuture(value);
        }
        CompletableFuture<Long> result = new PollerSafeFuture<>();
        readers.add(result);
        armFor(readers, result);
        failIfClosed(result);
        return result;
    }

    /** Closes the descriptor. Idempotent. Pending {@link #readAsync()} futures fail; blocked readers and writers wake with an exception. */
    @Override
    public void close() {
        waits.close(); // first: once it returns, onReady is not running and arm() arms no more
        if (!fd.close()) return;
        cleanable.clean();
        for (CompletableFuture<Long> r; (r = readers.poll()) != null; ) failIfClosed(r);
        for (CompletableFuture<Void> w; (w = writers.poll()) != null; ) failIfClosed(w);
    }

    /** A waiter queued after close() drained the queues would wait forever: fail it here instead. */
    private void failIfClosed(CompletableFuture<?> waiter) {
        if (fd.isClosed()) waiter.completeExceptionally(new IOException(this + " was closed while waiting"));
    }

    @Override
    public String toString() {
        return (semaphore ? "EventFd(semaphore, fd=" : "EventFd(fd=") + fd.number() + (fd.isClosed() ? ", closed)" : ")");
    }

    // ------------------------------------------------------------------ waiting through the poller

    /** Arms a one-shot interest on the shared poller for whatever the waiters need. */
    private void arm() {
        int events = (readers.isEmpty() ? 0 : Poller.READABLE) | (writers.isEmpty() ? 0 : Poller.WRITABLE);
        if (events == 0) return;
        try {
            waits.arm(events, onReady); // false once closed: close() fails every waiter it finds queued
        } catch (SyscallException e) {
            throw ErrnoException.unchecked(e);
        }
    }

    /** {@link #arm()} for a waiter just queued, unqueued again if arming fails (EMFILE): no value is read for it. */
    private <T> void armFor(ConcurrentLinkedQueue<CompletableFuture<T>> queue, CompletableFuture<T> waiter) {
        try {
            arm();
        } catch (RuntimeException e) {
            queue.remove(waiter);
            throw e;
        }
    }

    /** On the poller thread: hand values to readers in order, wake writers, re-arm while anyone waits. */
    private void onReady() {
        for (CompletableFuture<Long> reader; (reader = readers.peek()) != null; ) {
            if (reader.isDone()) {
                readers.remove(reader);
                continue;
            }
            long value = tryReadValue();
            if (value == 0) break;
            readers.remove(reader);
            if (!reader.complete(value)) giveBack(value); // cancelled meanwhile
        }
        for (CompletableFuture<Void> writer; (writer = writers.poll()) != null; ) writer.complete(null);
        arm();
    }

    private void giveBack(long value) {
        if (!write(value)) {
            throw new IllegalStateException(this + ": could not return " + Long.toUnsignedString(value) + " to a full counter");
        }
    }

    private static <T> T await(CompletableFuture<T> future) throws InterruptedException {
        try {
            return future.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) throw new IllegalStateException(io.getMessage(), io);
            throw new IllegalStateException(cause);
        } catch (CancellationException e) {
            throw new IllegalStateException("wait was cancelled", e);
        }
    }

    private static void checkValue(long n) {
        if (n <= 0) throw new IllegalArgumentException("n must be between 1 and " + Long.MAX_VALUE + ", was " + Long.toUnsignedString(n) + " (unsigned)");
    }
}
