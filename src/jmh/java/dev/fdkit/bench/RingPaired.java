package dev.fdkit.bench;

import dev.fdkit.CompletionRing;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * Rows "ring throughput, 1 and 4 producers" measured in pairs: not JMH, because on this VM the cost of moving
 * a cache line between the two vCPUs switches for seconds at a time between two levels (the host moves the
 * vCPUs between cores; the same harness runs Agrona's rings at about 30 and about 9 records/µs, fdkit's too),
 * and JMH measures one implementation after the other, each in whatever level its forks met. Here every
 * implementation has its ring and consumer thread ready, and the rounds alternate short slices of each
 * (order rotating), so neighbouring slices share the machine's state; the figure per implementation is the
 * median over rounds, and the settings give the median of the per-round ratios fdkit / baseline.
 * <p>
 * Same work as RingThroughput: producers offer 32-byte records ({@code Thread.yield()} when the ring is full,
 * counting accepted records), one consumer drains batches of up to 256, reading every field, and yields when
 * empty. fdkit {@code CompletionRing.offer} (4096 slots); Agrona {@code write(msgTypeId, buffer, 0, 32)}
 * (256 KiB). Usage: {@code RingPaired [--quick]} (fewer, shorter rounds).
 */
public final class RingPaired {
    private static final int SLOTS = 4096;
    private static final int AGRONA_BYTES = 256 * 1024;

    private RingPaired() {}

    /** One ring with its consumer thread running; producers call {@link #offer}. */
    private abstract static class Ring {
        final String name;
        volatile boolean stop;
        long sink;
        private final Thread consumer;

        Ring(String name) {
            this.name = name;
            this.consumer = Thread.ofPlatform().daemon().name("consumer-" + name).unstarted(() -> {
                while (!stop) if (drain() == 0) Thread.yield();
            });
        }

        abstract boolean offer(long sequence);

        abstract int drain();

        void start() {
            consumer.start();
        }

        void stop() throws InterruptedException {
            stop = true;
            consumer.join();
        }
    }

    private static Ring fdkit() {
        CompletionRing ring = CompletionRing.allocate(SLOTS);
        return new Ring("fdkit") {
            final CompletionRing.Handler handler = (c, o, r, r2) -> sink += c + o + r + r2;

            @Override
            boolean offer(long sequence) {
                return ring.offer(sequence, 1, 2, 3);
            }

            @Override
            int drain() {
                return ring.drain(handler, 256);
            }
        };
    }

    private static Ring agrona(String name, boolean manyToOne) {
        UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(AGRONA_BYTES + RingBufferDescriptor.TRAILER_LENGTH));
        RingBuffer ring = manyToOne ? new ManyToOneRingBuffer(buffer) : new OneToOneRingBuffer(buffer);
        ThreadLocal<UnsafeBuffer> records = ThreadLocal.withInitial(() -> new UnsafeBuffer(ByteBuffer.allocateDirect(32)));
        return new Ring(name) {
            final MessageHandler handler = (type, b, index, length) ->
                    sink += b.getLong(index) + b.getLong(index + 8) + b.getLong(index + 16) + b.getLong(index + 24);

            @Override
            boolean offer(long sequence) {
                UnsafeBuffer record = records.get();
                record.putLong(0, sequence);
                return ring.write(1, record, 0, 32);
            }

            @Override
            int drain() {
                return ring.read(handler, 256);
            }
        };
    }

    /** Records/µs accepted by {@code producers} threads offering for {@code nanos}. */
    private static double slice(Ring ring, int producers, long nanos) throws InterruptedException {
        AtomicLong accepted = new AtomicLong();
        long deadline = System.nanoTime() + nanos;
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            threads.add(Thread.ofPlatform().start(() -> {
                long ok = 0, sequence = 0;
                while (System.nanoTime() < deadline) {
                    for (int i = 0; i < 256; i++) {
                        if (ring.offer(sequence++)) ok++;
                        else Thread.yield();
                    }
                }
                accepted.addAndGet(ok);
            }));
        }
        for (Thread t : threads) t.join();
        return accepted.get() / (nanos / 1e3);
    }

    public static void main(String[] args) throws Exception {
        boolean quick = args.length > 0 && args[0].equals("--quick");
        int rounds = quick ? 6 : 25;
        long sliceNanos = quick ? 100_000_000L : 200_000_000L;
        measure(1, List.of(fdkit(), agrona("agrona_one_to_one", false), agrona("agrona_many_to_one", true)), rounds, sliceNanos);
        measure(4, List.of(fdkit(), agrona("agrona_many_to_one", true)), rounds, sliceNanos);
    }

    private static void measure(int producers, List<Ring> rings, int rounds, long sliceNanos) throws InterruptedException {
        for (Ring r : rings) r.start();
        int n = rings.size();
        for (int warm = 0; warm < 3; warm++) for (Ring r : rings) slice(r, producers, sliceNanos); // JIT, page faults
        double[][] scores = new double[n][rounds];
        for (int round = 0; round < rounds; round++) {
            for (int k = 0; k < n; k++) {
                int i = (round + k) % n; // rotate the order: no implementation always runs first
                scores[i][round] = slice(rings.get(i), producers, sliceNanos);
            }
        }
        for (Ring r : rings) r.stop();
        String settings = String.format(Locale.ROOT, "%d rounds of %d ms slices per implementation, alternating; median over rounds",
                rounds, sliceNanos / 1_000_000);
        for (int i = 0; i < n; i++) {
            String extra = "";
            if (i > 0) {
                double[] ratios = new double[rounds];
                for (int r = 0; r < rounds; r++) ratios[r] = scores[0][r] / scores[i][r];
                extra = String.format(Locale.ROOT, "; fdkit / this per round: median %.3f, from %.3f to %.3f",
                        median(ratios), Arrays.stream(ratios).min().orElse(Double.NaN), Arrays.stream(ratios).max().orElse(Double.NaN));
            }
            print("ring_paired.p" + producers + "." + rings.get(i).name, scores[i], settings + extra);
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int m = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }

    private static void print(String name, double[] scores, String settings) {
        double mean = Arrays.stream(scores).average().orElse(Double.NaN), sq = 0;
        for (double s : scores) sq += (s - mean) * (s - mean);
        double stdev = scores.length > 1 ? Math.sqrt(sq / (scores.length - 1)) : 0;
        String runs = Arrays.stream(scores).mapToObj(s -> String.format(Locale.ROOT, "%.3f", s)).collect(Collectors.joining(","));
        System.out.printf(Locale.ROOT, "{\"name\":\"%s\",\"unit\":\"ops/us\",\"score\":%.3f,\"error\":%.3f,\"mean\":%.3f,\"settings\":\"%s\",\"runs\":[%s]}%n",
                name, median(scores), stdev, mean, settings, runs);
        System.out.flush();
    }
}
