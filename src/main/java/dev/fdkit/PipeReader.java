package dev.fdkit;

import dev.fdkit.internal.Fd;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Our end of a child's stdout or stderr pipe, non-blocking. Read it as a blocking {@link InputStream}
 * (waits through the shared poller, safe on virtual threads) or subscribe once as a
 * {@link Flow.Publisher} of ByteBuffers delivered by the poller thread, with back-pressure: no demand,
 * no reads. Not both: whichever comes first owns the pipe, and a later subscriber is only told so.
 * <p>
 * The two paths share no lock and no buffer: the subscription's reads run on the poller thread, which
 * must never park behind a user thread blocked in {@link #read(byte[], int, int)}.
 */
final class PipeReader extends InputStream implements Descriptors.Owned, Flow.Publisher<ByteBuffer> {
    private static final int CHUNK = 16 * 1024;

    private final PipeEnd end;
    private final ReentrantLock readLock = new ReentrantLock();
    private final Object subscribeLock = new Object();
    private MemorySegment buffer; // guarded by readLock; allocated on first read
    private volatile Subscription subscription; // set once, under subscribeLock
    private volatile boolean streamUsed; // set once, under subscribeLock

    PipeReader(int fd, String name) {
        this.end = new PipeEnd(fd, name);
    }

    @Override
    public int fd() {
        return Descriptors.number(end.fd);
    }

    Fd descriptor() {
        return end.fd;
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
        claimForStream();
        if (length == 0) return 0;
        readLock.lock();
        try {
            if (buffer == null) buffer = Arena.ofAuto().allocate(CHUNK);
            for (;;) {
                long n = readChunk(buffer, Math.min(length, CHUNK));
                if (n > 0) {
                    MemorySegment.copy(buffer, JAVA_BYTE, 0, bytes, offset, (int) n);
                    return (int) n;
                }
                if (n == 0) return -1;
                end.ready.await(Poller.READABLE);
            }
        } finally {
            readLock.unlock();
        }
    }

    /** Makes the stream this pipe's consumer, unless a subscriber already is. */
    private void claimForStream() {
        if (streamUsed) return;
        synchronized (subscribeLock) { // one check-and-set with subscribe(): never both
            if (subscription != null) throw new IllegalStateException(end.name + " is consumed through its Flow.Publisher");
            streamUsed = true;
        }
    }

    /** The bytes in the pipe now (FIONREAD): a read of that many returns at once. 0 at end of stream. */
    @Override
    public int available() throws IOException {
        return (int) end.call((number, unused, none) -> Syscalls.bytesReadable(number), null, 0);
    }

    @Override
    public void close() {
        end.close(); // wakes a blocked read and stops the subscription's interest (waits for a running drain)
        Subscription s = subscription;
        if (s != null) s.cancel();
    }

    /** Bytes read into {@code into}, 0 at end of stream, -1 when nothing is available now. */
    private long readChunk(MemorySegment into, int max) throws IOException {
        return end.call(Syscalls::read, into, max);
    }

    // ------------------------------------------------------------------ Flow.Publisher

    @Override
    public void subscribe(Flow.Subscriber<? super ByteBuffer> subscriber) {
        Objects.requireNonNull(subscriber, "subscriber");
        Subscription s = new Subscription(subscriber);
        boolean accepted;
        synchronized (subscribeLock) {
            accepted = subscription == null && !streamUsed;
            if (accepted) subscription = s;
        }
        if (accepted) {
            subscriber.onSubscribe(s);
            s.start();
            return;
        }
        // Rule 1.9: onSubscribe before onError. The subscription is inert: it never reads, so the data stays
        // with the pipe's one consumer, and nothing follows the onError (rule 1.7).
        subscriber.onSubscribe(REJECTED);
        subscriber.onError(new IllegalStateException(end.name + " already has a reader; a pipe can be consumed once"));
    }

    private static final Flow.Subscription REJECTED = new Flow.Subscription() {
        @Override
        public void request(long n) {
        }

        @Override
        public void cancel() {
        }
    };

    /**
     * Signals go out one at a time (rule 1.3): {@code emitting} is taken (0 to 1) around each onNext by the
     * poller thread, and for good by a terminal signal. An error raised on another thread while onNext runs
     * (an illegal request, a failed arm) is left in {@code error} for the poller thread to deliver when onNext
     * returns, so no thread ever waits for another.
     */
    private final class Subscription implements Flow.Subscription {
        private volatile Flow.Subscriber<? super ByteBuffer> subscriber; // dropped at cancel and terminal (rule 3.13)
        private final AtomicLong demand = new AtomicLong();
        private final AtomicInteger emitting = new AtomicInteger();
        private final AtomicReference<Throwable> error = new AtomicReference<>();
        private MemorySegment chunk; // used by drain() alone, on the poller thread
        private volatile boolean started; // onSubscribe has returned: reading may begin
        private volatile boolean done;

        Subscription(Flow.Subscriber<? super ByteBuffer> subscriber) {
            this.subscriber = subscriber;
        }

        /** After onSubscribe returned: arms for what it requested, so no onNext overlaps onSubscribe (rule 1.3). */
        void start() {
            started = true;
            if (demand.get() > 0) armForDemand(); // a request racing with this may arm too: one-shot, harmless
        }

        @Override
        public void request(long n) {
            if (done) return;
            if (n <= 0) {
                finish(new IllegalArgumentException("request(n) needs n > 0, was " + n + " (Reactive Streams rule 3.9)"));
                return;
            }
            long before = demand.getAndAccumulate(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
            if (before == 0 && started) armForDemand();
        }

        @Override
        public void cancel() {
            done = true;
            subscriber = null;
            end.ready.close(); // takes the interest out of the poller now, not at the next readiness
        }

        private void armForDemand() {
            try {
                if (!end.ready.arm(Poller.READABLE, this::drain)) finish(end.closed());
            } catch (SyscallException e) {
                finish(ErrnoException.of(e));
            }
        }

        /**
         * On the poller thread, one run at a time: deliver what is there while demand lasts, re-arm if more
         * is wanted. Takes no lock: the poller thread must never wait for a user thread.
         */
        private void drain() {
            if (chunk == null) chunk = Arena.ofAuto().allocate(CHUNK);
            try {
                while (!done && demand.get() > 0) {
                    long n = readChunk(chunk, CHUNK);
                    if (n < 0) {
                        armForDemand();
                        return;
                    }
                    if (n == 0) {
                        Flow.Subscriber<? super ByteBuffer> s = emitting.getAndIncrement() == 0 ? terminate() : null;
                        if (s != null) s.onComplete();
                        PipeReader.this.close();
                        return;
                    }
                    ByteBuffer item = ByteBuffer.allocate((int) n);
                    MemorySegment.copy(chunk, 0, MemorySegment.ofBuffer(item), 0, n);
                    demand.decrementAndGet();
                    Flow.Subscriber<? super ByteBuffer> s = subscriber;
                    if (s == null || emitting.getAndIncrement() != 0) return; // cancelled, or ended by an error
                    s.onNext(item);
                    if (emitting.decrementAndGet() != 0) { // an error came in meanwhile: deliver it now
                        deliverError();
                        return;
                    }
                }
            } catch (IOException | UncheckedIOException e) {
                finish(e);
            }
        }

        /** Ends with {@code error} unless already ended: now, or when a running onNext returns. */
        private void finish(Throwable error) {
            if (done || !this.error.compareAndSet(null, error)) return;
            if (emitting.getAndIncrement() == 0) deliverError();
        }

        private void deliverError() {
            Flow.Subscriber<? super ByteBuffer> s = terminate();
            if (s != null) s.onError(error.get());
        }

        /**
         * The subscriber to send the terminal signal to, or null if it was cancelled; drops it (rule 3.13).
         * The caller holds {@code emitting} and never releases it: nothing may follow a terminal signal (rule 1.7).
         */
        private Flow.Subscriber<? super ByteBuffer> terminate() {
            done = true;
            Flow.Subscriber<? super ByteBuffer> s = subscriber;
            subscriber = null;
            return s;
        }
    }

    @Override
    public String toString() {
        return end.toString();
    }
}
