package dev.fdkit;

import dev.fdkit.internal.Fd;
import dev.fdkit.internal.Syscalls;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Our end of a child's stdout or stderr pipe, non-blocking. Read it as a blocking {@link InputStream}
 * (waits through the shared poller, safe on virtual threads) or subscribe once as a
 * {@link Flow.Publisher} of ByteBuffers delivered by the poller thread, with back-pressure: no demand,
 * no reads. Not both.
 */
final class PipeReader extends InputStream implements FdOwner, Flow.Publisher<ByteBuffer> {
    private static final int CHUNK = 16 * 1024;

    private final Fd fd;
    private final String name;
    private final ReentrantLock readLock = new ReentrantLock();
    private final Object subscribeLock = new Object();
    private MemorySegment buffer; // guarded by readLock; allocated on first read
    private final ReadinessWait readable;
    private volatile Subscription subscription;
    private volatile boolean streamUsed;

    PipeReader(int fd, String name) {
        this.fd = new Fd(fd, name);
        this.name = name;
        this.readable = new ReadinessWait(this, Poller.READABLE, name);
    }

    @Override
    public Fd descriptor() {
        return fd;
    }

    // ------------------------------------------------------------------ InputStream

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) == 1 ? one[0] & 0xff : -1;
    }

    @Override
    public int read(byte[] bytes, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, bytes.length);
        if (subscription != null) throw new IllegalStateException(name + " is consumed through its Flow.Publisher");
        streamUsed = true;
        if (length == 0) return 0;
        readLock.lock();
        try {
            for (;;) {
                long n = readChunk(Math.min(length, CHUNK));
                if (n > 0) {
                    MemorySegment.copy(buffer, JAVA_BYTE, 0, bytes, offset, (int) n);
                    return (int) n;
                }
                if (n == 0) return -1;
                readable.await();
            }
        } finally {
            readLock.unlock();
        }
    }

    @Override
    public int available() throws IOException {
        return 0; // unknown without FIONREAD; a read may still return data at once
    }

    @Override
    public void close() {
        fd.close(); // the close hook cancels our registration
        readable.closed();
        Subscription s = subscription;
        if (s != null) s.cancel();
    }

    /** Bytes read into {@code buffer}, 0 at end of stream, -1 when nothing is available now. */
    private long readChunk(int max) throws IOException {
        if (buffer == null) buffer = Arena.ofAuto().allocate(CHUNK);
        int number = fd.tryAcquire();
        if (number < 0) throw new IOException(name + " closed");
        try {
            return Syscalls.read(number, buffer, max);
        } finally {
            fd.release();
        }
    }

    // ------------------------------------------------------------------ Flow.Publisher

    @Override
    public void subscribe(Flow.Subscriber<? super ByteBuffer> subscriber) {
        Objects.requireNonNull(subscriber, "subscriber");
        Subscription s = new Subscription(subscriber);
        synchronized (subscribeLock) {
            if (subscription != null || streamUsed) {
                subscriber.onSubscribe(new Subscription(subscriber));
                subscriber.onError(new IllegalStateException(name + " already has a reader; a pipe can be consumed once"));
                return;
            }
            subscription = s;
        }
        subscriber.onSubscribe(s);
    }

    private final class Subscription implements Flow.Subscription {
        private final Flow.Subscriber<? super ByteBuffer> subscriber;
        private final AtomicLong demand = new AtomicLong();
        private volatile boolean done;

        Subscription(Flow.Subscriber<? super ByteBuffer> subscriber) {
            this.subscriber = subscriber;
        }

        @Override
        public void request(long n) {
            if (done) return;
            if (n <= 0) {
                finish(new IllegalArgumentException("request(n) needs n > 0, was " + n + " (Reactive Streams rule 3.9)"));
                return;
            }
            long before = demand.getAndAccumulate(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
            if (before == 0) armForDemand();
        }

        @Override
        public void cancel() {
            done = true;
        }

        private void armForDemand() {
            try {
                readable.arm(this::drain);
            } catch (IOException e) {
                finish(e);
            }
        }

        /** On the poller thread: deliver what is there while demand lasts, re-arm if more is wanted. */
        private void drain() {
            readLock.lock();
            try {
                while (!done && demand.get() > 0) {
                    long n = readChunk(CHUNK);
                    if (n < 0) {
                        armForDemand();
                        return;
                    }
                    if (n == 0) {
                        done = true;
                        subscriber.onComplete();
                        PipeReader.this.close();
                        return;
                    }
                    ByteBuffer chunk = ByteBuffer.allocate((int) n);
                    MemorySegment.copy(buffer, 0, MemorySegment.ofBuffer(chunk), 0, n);
                    demand.decrementAndGet();
                    subscriber.onNext(chunk);
                }
            } catch (IOException | UncheckedIOException e) {
                finish(e);
            } finally {
                readLock.unlock();
            }
        }

        private void finish(Throwable error) {
            if (done) return;
            done = true;
            subscriber.onError(error);
        }
    }

    @Override
    public String toString() {
        return name + "(fd=" + fd.number() + (fd.isClosed() ? ", closed)" : ")");
    }
}
