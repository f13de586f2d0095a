package dev.fdkit.bench;

import dev.fdkit.CompletionRing;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.jctools.queues.MpscArrayQueue;
import org.jctools.queues.SpscArrayQueue;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * Diagnostic for the ring throughput rows: the instructions a record costs with no second thread — no cache
 * line moves between cores, no back-off. One thread offers {@link #BATCH} = 256 records, then drains them
 * (batch limit 256, Agrona's read repeated where the buffer wraps); the score is ns per record (offer + consume). Same records and consumers as
 * {@link RingThroughput}; the ring sizes are as there.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Thread)
public class RingHotPath {
    static final int BATCH = 256;

    private CompletionRing fdkit;
    private RingBuffer oneToOne, manyToOne;
    private SpscArrayQueue<Object> spsc;
    private MpscArrayQueue<Object> mpsc;
    private final UnsafeBuffer record = new UnsafeBuffer(ByteBuffer.allocateDirect(RingThroughput.RECORD));
    private final Object element = new Object();
    private long sink;
    private final CompletionRing.Handler fdkitHandler = (cookie, obj, res, res2) -> sink += cookie + obj + res + res2;
    private final MessageHandler agronaHandler = (msgTypeId, buffer, index, length) ->
            sink += buffer.getLong(index) + buffer.getLong(index + 8) + buffer.getLong(index + 16) + buffer.getLong(index + 24);
    private final org.jctools.queues.MessagePassingQueue.Consumer<Object> jctoolsHandler = e -> sink += e == null ? 0 : 1;

    @Setup(Level.Trial)
    public void setup() {
        fdkit = CompletionRing.allocate(RingThroughput.SLOTS);
        int bytes = RingThroughput.AGRONA_BYTES + RingBufferDescriptor.TRAILER_LENGTH;
        oneToOne = new OneToOneRingBuffer(new UnsafeBuffer(ByteBuffer.allocateDirect(bytes)));
        manyToOne = new ManyToOneRingBuffer(new UnsafeBuffer(ByteBuffer.allocateDirect(bytes)));
        spsc = new SpscArrayQueue<>(RingThroughput.SLOTS);
        mpsc = new MpscArrayQueue<>(RingThroughput.SLOTS);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        fdkit.close();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long fdkit() {
        for (long i = 0; i < BATCH; i++) fdkit.offer(i, i, 0, 0);
        if (fdkit.drain(fdkitHandler, BATCH) != BATCH) throw new IllegalStateException();
        return sink;
    }

    private long agrona(RingBuffer ring) {
        UnsafeBuffer r = record;
        for (long i = 0; i < BATCH; i++) {
            r.putLong(0, i);
            r.putLong(8, i);
            r.putLong(16, 0);
            r.putLong(24, 0);
            ring.write(RingThroughput.MSG_TYPE, r, 0, RingThroughput.RECORD);
        }
        // read() stops at the end of the buffer (a wrap leaves a padding record): read on until all are in
        for (int n = 0; n < BATCH; ) n += ring.read(agronaHandler, BATCH - n);
        return sink;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long agronaOneToOne() {
        return agrona(oneToOne);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long agronaManyToOne() {
        return agrona(manyToOne);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long jctoolsSpsc() {
        for (int i = 0; i < BATCH; i++) spsc.offer(element);
        if (spsc.drain(jctoolsHandler, BATCH) != BATCH) throw new IllegalStateException();
        return sink;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long jctoolsMpsc() {
        for (int i = 0; i < BATCH; i++) mpsc.offer(element);
        if (mpsc.drain(jctoolsHandler, BATCH) != BATCH) throw new IllegalStateException();
        return sink;
    }
}
