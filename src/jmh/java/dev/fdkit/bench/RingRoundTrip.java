package dev.fdkit.bench;

import dev.fdkit.CompletionRing;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
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
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * Ring round-trip latency (diagnostic for the ring throughput row): the benchmark thread puts one 32-byte
 * record into a "ping" ring and spins until a partner thread, spinning on that ring, has copied it into a
 * "pong" ring and the benchmark thread has taken it out again. Both threads busy-spin ({@code onSpinWait}; after
 * 100 idle spins they {@code Thread.yield()}, so on a loaded 2-CPU machine neither starves the other), no
 * syscall on the fast path: a round trip is cache-line hand-offs between two cores. fdkit {@link CompletionRing} (offer /
 * drain(limit 1), the partner offers from inside its drain handler) against Agrona OneToOneRingBuffer
 * (write / read) and JCTools SpscArrayQueue (offer / poll of one preallocated object).
 * The partner is a platform thread started in {@code @Setup} and joined in {@code @TearDown}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(2)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class RingRoundTrip {
    /** Spins {@code onSpinWait} up to 100 times, then yields the CPU: with 2 CPUs shared with other work, pure spinning can starve the other side. */
    static int backOff(int idle) {
        if (idle < 100) Thread.onSpinWait();
        else Thread.yield();
        return idle + 1;
    }

    abstract static class Partner {
        volatile boolean stop;
        private Thread thread;

        final void startPartner() {
            thread = Thread.ofPlatform().daemon().name("ring-partner").start(() -> {
                int idle = 0;
                while (!stop) {
                    if (echo()) idle = 0;
                    else idle = backOff(idle);
                }
            });
        }

        /** Moves at most one record from ping to pong; false if there was none. */
        abstract boolean echo();

        final void stopPartner() throws InterruptedException {
            stop = true;
            thread.join(10_000);
            if (thread.isAlive()) throw new IllegalStateException("partner did not stop");
        }
    }

    // ------------------------------------------------------------------ fdkit

    @State(Scope.Thread)
    public static class Fdkit extends Partner {
        CompletionRing ping, pong;
        long received;
        final CompletionRing.Handler echoHandler = (cookie, obj, res, res2) -> {
            while (!pong.offer(cookie, obj, res, res2)) Thread.onSpinWait();
        };
        final CompletionRing.Handler receive = (cookie, obj, res, res2) -> received = cookie;

        @Setup(Level.Trial)
        public void setup() {
            ping = CompletionRing.allocate(64);
            pong = CompletionRing.allocate(64);
            startPartner();
        }

        @Override
        boolean echo() {
            return ping.drain(echoHandler, 1) != 0;
        }

        @TearDown(Level.Trial)
        public void tearDown() throws InterruptedException {
            stopPartner();
            ping.close();
            pong.close();
        }
    }

    @Benchmark
    public long fdkit(Fdkit s) {
        s.ping.offer(1, 2, 3, 4);
        for (int idle = 0; s.pong.drain(s.receive, 1) == 0; ) idle = backOff(idle);
        return s.received;
    }

    // ------------------------------------------------------------------ Agrona

    @State(Scope.Thread)
    public static class Agrona extends Partner {
        OneToOneRingBuffer ping, pong;
        final UnsafeBuffer record = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
        long received;
        final MessageHandler echoHandler = (msgTypeId, buffer, index, length) -> {
            while (!pong.write(msgTypeId, buffer, index, length)) Thread.onSpinWait();
        };
        final MessageHandler receive = (msgTypeId, buffer, index, length) -> received = buffer.getLong(index);

        @Setup(Level.Trial)
        public void setup() {
            ping = new OneToOneRingBuffer(new UnsafeBuffer(ByteBuffer.allocateDirect(4096 + RingBufferDescriptor.TRAILER_LENGTH)));
            pong = new OneToOneRingBuffer(new UnsafeBuffer(ByteBuffer.allocateDirect(4096 + RingBufferDescriptor.TRAILER_LENGTH)));
            record.putLong(0, 1);
            record.putLong(8, 2);
            record.putLong(16, 3);
            record.putLong(24, 4);
            startPartner();
        }

        @Override
        boolean echo() {
            return ping.read(echoHandler, 1) != 0;
        }

        @TearDown(Level.Trial)
        public void tearDown() throws InterruptedException {
            stopPartner();
        }
    }

    @Benchmark
    public long agrona(Agrona s) {
        s.ping.write(1, s.record, 0, 32);
        for (int idle = 0; s.pong.read(s.receive, 1) == 0; ) idle = backOff(idle);
        return s.received;
    }

    // ------------------------------------------------------------------ JCTools

    @State(Scope.Thread)
    public static class JcTools extends Partner {
        final SpscArrayQueue<Object> ping = new SpscArrayQueue<>(64), pong = new SpscArrayQueue<>(64);
        final Object element = new Object();

        @Setup(Level.Trial)
        public void setup() {
            startPartner();
        }

        @Override
        boolean echo() {
            Object e = ping.poll();
            if (e == null) return false;
            while (!pong.offer(e)) Thread.onSpinWait();
            return true;
        }

        @TearDown(Level.Trial)
        public void tearDown() throws InterruptedException {
            stopPartner();
        }
    }

    @Benchmark
    public Object jctools(JcTools s) {
        s.ping.offer(s.element);
        Object e;
        for (int idle = 0; (e = s.pong.poll()) == null; ) idle = backOff(idle);
        return e;
    }
}
