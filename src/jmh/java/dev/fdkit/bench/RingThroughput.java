package dev.fdkit.bench;

import dev.fdkit.CompletionRing;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscArrayQueue;
import org.jctools.queues.SpscArrayQueue;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * Row "ring throughput, 1 and 4 producers": records per microsecond through a bounded multi-producer /
 * single-consumer ring, fdkit's {@link CompletionRing} against Agrona's ring buffers and JCTools' queues.
 * <p>
 * The producers are JMH's worker threads ({@code @Threads(1)} or {@code @Threads(4)}); one op is one record
 * accepted by the ring, so JMH's score is the records/µs that got through. When the ring is full a producer
 * {@code Thread.yield()}s and retries (the op completes only on success). The consumer is one platform thread
 * per trial, started in {@code @Setup} and joined in {@code @TearDown}: it drains in batches of up to 256,
 * reads every field, and yields when it finds the ring empty. Every implementation gets the same back-off.
 * <p>
 * Records: fdkit {@code offer(cookie, obj, res, res2)} (32 bytes: four longs, one claim CAS, one volatile
 * sequence store); Agrona {@code write(msgTypeId, src, 0, 32)} of a 32-byte record from a preallocated buffer
 * (its own 8-byte header added: 40 bytes per slot), and as a zero-copy variant {@code tryClaim} + four
 * {@code putLong} + {@code commit}; JCTools {@code offer} of a preallocated object (a reference, no payload
 * copy: an upper bound for any record queue). Sizes: fdkit and JCTools 4096 slots, Agrona 256 KiB
 * (6553 records of 40 bytes: never fewer slots than the others).
 * <p>
 * With 4 producers and 1 consumer on a 2-CPU machine the threads outnumber the CPUs 5:2, so the 4-producer
 * figures measure the rings under oversubscription (scheduling and yields dominate), not a parallel speed-up.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class RingThroughput {
    static final int SLOTS = 4096;
    static final int AGRONA_BYTES = 256 * 1024;
    static final int BATCH = 256;
    static final int MSG_TYPE = 1;
    static final int RECORD = 32;

    /** The consumer thread: drains in batches until stopped. */
    abstract static class Consumer {
        volatile boolean stop;
        long sink; // written by the consumer only: keeps the reads alive
        private Thread thread;

        final void startConsumer() {
            thread = Thread.ofPlatform().daemon().name("ring-consumer").start(() -> {
                while (!stop) {
                    if (drain() == 0) Thread.yield();
                }
                while (drain() > 0) {
                    // leave the ring empty
                }
            });
        }

        /** Consumes up to {@link #BATCH} records; returns how many. */
        abstract int drain();

        final void stopConsumer() throws InterruptedException {
            stop = true;
            thread.join(10_000);
            if (thread.isAlive()) throw new IllegalStateException("consumer did not stop");
        }
    }

    /** Per producer thread: a sequence number and a preallocated 32-byte source record. */
    @State(Scope.Thread)
    public static class Producer {
        long sequence;
        final UnsafeBuffer record = new UnsafeBuffer(ByteBuffer.allocateDirect(RECORD));
        final Object element = new Object();
    }

    // ------------------------------------------------------------------ fdkit

    @State(Scope.Benchmark)
    public static class Fdkit extends Consumer {
        CompletionRing ring;
        final CompletionRing.Handler handler = (cookie, obj, res, res2) -> sink += cookie + obj + res + res2;

        @Setup(Level.Trial)
        public void setup() {
            ring = CompletionRing.allocate(SLOTS);
            startConsumer();
        }

        @Override
        int drain() {
            return ring.drain(handler, BATCH);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws InterruptedException {
            stopConsumer();
            ring.close();
        }
    }

    private static void offer(Fdkit s, Producer p) {
        long seq = p.sequence++;
        while (!s.ring.offer(seq, seq, 0, 0)) Thread.yield();
    }

    @Benchmark
    @Threads(1)
    public void fdkit1(Fdkit s, Producer p) {
        offer(s, p);
    }

    @Benchmark
    @Threads(4)
    public void fdkit4(Fdkit s, Producer p) {
        offer(s, p);
    }

    // ------------------------------------------------------------------ Agrona

    abstract static class Agrona extends Consumer {
        RingBuffer ring;
        final MessageHandler handler = (msgTypeId, buffer, index, length) ->
                sink += buffer.getLong(index) + buffer.getLong(index + 8) + buffer.getLong(index + 16) + buffer.getLong(index + 24);

        abstract RingBuffer create(UnsafeBuffer memory);

        @Setup(Level.Trial)
        public void setup() {
            ring = create(new UnsafeBuffer(ByteBuffer.allocateDirect(AGRONA_BYTES + RingBufferDescriptor.TRAILER_LENGTH)));
            startConsumer();
        }

        @Override
        int drain() {
            return ring.read(handler, BATCH);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws InterruptedException {
            stopConsumer();
        }
    }

    @State(Scope.Benchmark)
    public static class AgronaOneToOne extends Agrona {
        @Override
        RingBuffer create(UnsafeBuffer memory) {
            return new OneToOneRingBuffer(memory);
        }
    }

    @State(Scope.Benchmark)
    public static class AgronaManyToOne extends Agrona {
        @Override
        RingBuffer create(UnsafeBuffer memory) {
            return new ManyToOneRingBuffer(memory);
        }
    }

    private static void write(Agrona s, Producer p) {
        long seq = p.sequence++;
        UnsafeBuffer record = p.record;
        record.putLong(0, seq);
        record.putLong(8, seq);
        record.putLong(16, 0);
        record.putLong(24, 0);
        while (!s.ring.write(MSG_TYPE, record, 0, RECORD)) Thread.yield();
    }

    private static void claim(Agrona s, Producer p) {
        long seq = p.sequence++;
        RingBuffer ring = s.ring;
        int index;
        while ((index = ring.tryClaim(MSG_TYPE, RECORD)) < 0) Thread.yield();
        var buffer = ring.buffer();
        buffer.putLong(index, seq);
        buffer.putLong(index + 8, seq);
        buffer.putLong(index + 16, 0);
        buffer.putLong(index + 24, 0);
        ring.commit(index);
    }

    @Benchmark
    @Threads(1)
    public void agronaOneToOne1(AgronaOneToOne s, Producer p) {
        write(s, p);
    }

    @Benchmark
    @Threads(1)
    public void agronaManyToOne1(AgronaManyToOne s, Producer p) {
        write(s, p);
    }

    @Benchmark
    @Threads(4)
    public void agronaManyToOne4(AgronaManyToOne s, Producer p) {
        write(s, p);
    }

    @Benchmark
    @Threads(1)
    public void agronaOneToOneClaim1(AgronaOneToOne s, Producer p) {
        claim(s, p);
    }

    @Benchmark
    @Threads(4)
    public void agronaManyToOneClaim4(AgronaManyToOne s, Producer p) {
        claim(s, p);
    }

    // ------------------------------------------------------------------ JCTools

    abstract static class JcTools extends Consumer {
        MessagePassingQueue<Object> queue;
        final MessagePassingQueue.Consumer<Object> handler = e -> sink += e == null ? 0 : 1;

        abstract MessagePassingQueue<Object> create();

        @Setup(Level.Trial)
        public void setup() {
            queue = create();
            startConsumer();
        }

        @Override
        int drain() {
            return queue.drain(handler, BATCH);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws InterruptedException {
            stopConsumer();
        }
    }

    @State(Scope.Benchmark)
    public static class JcToolsSpsc extends JcTools {
        @Override
        MessagePassingQueue<Object> create() {
            return new SpscArrayQueue<>(SLOTS);
        }
    }

    @State(Scope.Benchmark)
    public static class JcToolsMpsc extends JcTools {
        @Override
        MessagePassingQueue<Object> create() {
            return new MpscArrayQueue<>(SLOTS);
        }
    }

    private static void offer(JcTools s, Producer p) {
        while (!s.queue.offer(p.element)) Thread.yield();
    }

    @Benchmark
    @Threads(1)
    public void jctoolsSpsc1(JcToolsSpsc s, Producer p) {
        offer(s, p);
    }

    @Benchmark
    @Threads(1)
    public void jctoolsMpsc1(JcToolsMpsc s, Producer p) {
        offer(s, p);
    }

    @Benchmark
    @Threads(4)
    public void jctoolsMpsc4(JcToolsMpsc s, Producer p) {
        offer(s, p);
    }
}
