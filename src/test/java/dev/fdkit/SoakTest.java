package dev.fdkit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Soak (issue 10): long runs of each kind of work, with the process's descriptors, threads and resident memory
 * sampled as they go; none may drift upwards. {@code mvn -B verify -Psoak} runs the full volumes — 100,000
 * spawn/reap cycles with 64 in flight, 10^8 CompletionRing records, 10^7 eventfd round trips, 10^6 io_uring
 * operations — and prints the samples; {@code mvn verify} runs each for about half a second.
 * <p>
 * Descriptors and threads are held exactly: each run ends where it began, and no sample exceeds the start by
 * more than what the work holds at once (children in flight, its own eventfds; one thread of its own). Resident memory is held only in the full run, where a run lasts long
 * enough for the JIT and the heap to settle: the second half may add at most {@link #RSS_TOLERANCE_KB}.
 */
@Tag("soak")
@ExtendWith(ProcessWarmUp.class)
@ExtendWith(LeakGuard.class)
class SoakTest {
    private static final boolean FULL = Scale.fullSoak();
    private static final long LIMIT_SECONDS = 10;
    private static final long RSS_TOLERANCE_KB = 64 * 1024;

    @Test
    void spawnAndReapWithSixtyFourInFlight() throws Exception {
        long total = FULL ? 100_000 : 300;
        int inFlight = 64;
        ProcessBuilder pb = new ProcessBuilder("true").redirectInput(Redirect.from(new File("/dev/null")))
                .redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD);
        Semaphore slots = new Semaphore(inFlight);
        AtomicLong reaped = new AtomicLong();
        AtomicReference<String> failure = new AtomicReference<>();
        Sampler sampler = new Sampler("spawn/reap cycles, " + inFlight + " in flight", total, 2 * inFlight); // a pidfd each, and pipes while spawning
        for (long i = 0; i < total; i++) {
            if (!slots.tryAcquire(LIMIT_SECONDS, TimeUnit.SECONDS)) throw new AssertionError("no child reaped within " + LIMIT_SECONDS + " s");
            if (failure.get() != null) throw new AssertionError(failure.get());
            ProcessDescriptor p = ProcessDescriptor.start(pb);
            p.onExit().whenComplete((status, error) -> { // on the poller thread
                if (error != null || !status.success()) failure.compareAndSet(null, p.pid() + ": " + (error != null ? error : status));
                p.close();
                reaped.incrementAndGet();
                slots.release();
            });
            sampler.sample(i);
        }
        assertThat(slots.tryAcquire(inFlight, LIMIT_SECONDS, TimeUnit.SECONDS)).as("the last children reaped").isTrue();
        assertThat(failure.get()).isNull();
        assertThat(reaped.get()).isEqualTo(total);
        assertThat(Processes.zombieChildren()).isEmpty();
        sampler.finish();
    }

    @Test
    void completionRingRecordsFromAProducerThread() throws Exception {
        long total = FULL ? 100_000_000L : 300_000L;
        Sampler sampler = new Sampler("CompletionRing records", total, 4);
        try (CompletionRing ring = CompletionRing.allocate(4096)) {
            Thread producer = Thread.ofPlatform().name("soak-producer").start(() -> {
                for (long i = 0; i < total; i++) {
                    while (!ring.offer(i, 1, -i, ~i)) Thread.onSpinWait(); // full: the consumer frees room
                }
            });
            long[] next = {0};
            CompletionRing.Handler check = (cookie, obj, res, res2) -> {
                if (cookie != next[0] || res != -cookie || res2 != ~cookie) throw new AssertionError("record " + next[0] + " came as " + cookie);
                next[0]++;
            };
            while (next[0] < total) {
                if (ring.drain(check, 1024) == 0 && !ring.awaitNonEmpty(Duration.ofSeconds(LIMIT_SECONDS))) {
                    throw new AssertionError("no record within " + LIMIT_SECONDS + " s after " + next[0]);
                }
                sampler.sample(next[0]);
            }
            producer.join(TimeUnit.SECONDS.toMillis(LIMIT_SECONDS));
            assertThat(ring.isEmpty()).isTrue();
        }
        sampler.finish();
    }

    /**
     * Round trips through an eventfd: signal, then read the value back. One in a thousand goes to a peer thread and
     * back through a second eventfd, both sides parked in read() through the shared poller; the others are read on
     * the signalling thread, which finds the value at once.
     */
    @Test
    void eventFdRoundTrips() throws Exception {
        long total = FULL ? 10_000_000L : 200_000L;
        Sampler sampler = new Sampler("eventfd round trips", total, 8);
        try (EventFd self = EventFd.open(); EventFd ping = EventFd.open(); EventFd pong = EventFd.open()) {
            CompletableFuture<Throwable> peer = new CompletableFuture<>();
            Thread echo = Thread.ofPlatform().name("soak-echo").start(() -> {
                try {
                    for (;;) pong.signal(ping.read());
                } catch (Throwable t) {
                    peer.complete(t); // IllegalStateException at close: the end
                }
            });
            for (long i = 0; i < total; i++) {
                long value = 1 + (i & 0xff);
                if (i % 1000 == 0) {
                    ping.signal(value);
                    CompletableFuture<Long> back = pong.readAsync();
                    assertThat(back.get(LIMIT_SECONDS, TimeUnit.SECONDS)).isEqualTo(value);
                } else {
                    self.signal(value);
                    assertThat(self.read()).isEqualTo(value);
                }
                sampler.sample(i);
            }
            ping.close();
            assertThat(peer.get(LIMIT_SECONDS, TimeUnit.SECONDS)).isInstanceOf(IllegalStateException.class);
            echo.join(TimeUnit.SECONDS.toMillis(LIMIT_SECONDS));
        }
        sampler.finish();
    }

    /** NOPs in batches of 64 through submitAll; every batch also polls and reads an eventfd signalled for it and a zero timeout. */
    @Test
    void ioUringOperations() throws Exception {
        Assumptions.assumeTrue(Linux.has(Feature.IO_URING), "io_uring is unavailable");
        long total = FULL ? 1_000_000L : 20_000L;
        int batch = 64;
        Sampler sampler = new Sampler("io_uring operations", total, 8);
        try (Uring uring = Uring.open(256); EventFd e = EventFd.open(); java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment buffer = arena.allocate(8, 8);
            long cookie = 0;
            for (long done = 0; done < total; ) {
                List<Uring.Op> ops = new ArrayList<>(batch);
                e.trySignal(1);
                ops.add(new Uring.PollAdd(e, Poller.READABLE, false, cookie++));
                ops.add(new Uring.Timeout(Duration.ZERO, cookie++));
                while (ops.size() < batch) ops.add(new Uring.Nop(cookie++));
                List<CompletableFuture<Completion>> futures = uring.submitAll(ops);
                CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(LIMIT_SECONDS, TimeUnit.SECONDS);
                Completion read = uring.submit(new Uring.Read(e, buffer, cookie++)).get(LIMIT_SECONDS, TimeUnit.SECONDS);
                assertThat(read.res()).isEqualTo(8);
                for (int k = 2; k < batch; k++) assertThat(futures.get(k).join().res()).isZero();
                done += batch + 1;
                sampler.sample(done);
            }
            assertThat(uring.inFlight()).isZero();
        }
        sampler.finish();
    }

    // ------------------------------------------------------------------ sampling

    /** One look at the process: descriptors, threads (/proc/self/status Threads) and VmRSS. */
    record Sample(long done, long millis, int fds, int threads, long rssKb) {}

    /**
     * Takes about {@code SAMPLES} samples spread over a run of {@code total} units, then holds them to flatness;
     * {@code slack} is how many descriptors the work may hold open at once (children in flight, its own eventfds).
     */
    static final class Sampler {
        private static final int SAMPLES = 20;
        private final String name;
        private final long total;
        private final int slack;
        private final long began = System.nanoTime();
        private final Sample baseline;
        private final List<Sample> samples = new ArrayList<>();
        private long next;

        Sampler(String name, long total, int slack) {
            this.name = name;
            this.total = total;
            this.slack = slack;
            this.baseline = take(0);
            this.next = Math.max(1, total / SAMPLES);
        }

        void sample(long done) {
            if (done < next) return;
            samples.add(take(done));
            next += Math.max(1, total / SAMPLES);
        }

        private Sample take(long done) {
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
            return new Sample(done, millis, descriptors(), (int) status("Threads:"), status("VmRSS:"));
        }

        /** Prints the samples and holds them to the rules in the class comment. */
        void finish() throws InterruptedException {
            Sample end = take(total);
            StringBuilder table = new StringBuilder(String.format("soak %s: %,d in %,d ms%n  %14s %9s %5s %8s %9s%n", name, total, end.millis(),
                    "done", "ms", "fds", "threads", "RSS MB"));
            List<Sample> all = new ArrayList<>();
            all.add(baseline);
            all.addAll(samples);
            all.add(end);
            for (Sample s : all) table.append(String.format("  %,14d %,9d %5d %8d %9.1f%n", s.done(), s.millis(), s.fds(), s.threads(), s.rssKb() / 1024.0));
            System.out.print(table);
            // a child's pidfd closes on the poller thread; threads exit
            Processes.awaitCondition(Duration.ofSeconds(5), () -> descriptors() == baseline.fds() && status("Threads:") <= baseline.threads());
            end = take(total);
            assertThat(end.fds()).as("descriptors after the run (%s)", name).isEqualTo(baseline.fds());
            assertThat(end.threads()).as("threads after the run (%s)", name).isLessThanOrEqualTo(baseline.threads());
            assertThat(max(samples, Sample::fds)).as("most descriptors open during the run\n%s", table).isLessThanOrEqualTo(baseline.fds() + slack);
            assertThat(max(samples, Sample::threads)).as("most threads during the run\n%s", table).isLessThanOrEqualTo(baseline.threads() + 2);
            int half = samples.size() / 2;
            if (FULL && half > 0) {
                assertThat(samples.getLast().rssKb() - samples.get(half).rssKb()).as("RSS growth over the second half (kB)\n%s", table)
                        .isLessThanOrEqualTo(RSS_TOLERANCE_KB);
            }
        }

        private static long max(List<Sample> samples, java.util.function.ToLongFunction<Sample> field) {
            return samples.stream().mapToLong(field).max().orElse(0);
        }
    }

    /** Entries of /proc/self/fd, less the directory stream's own (cheaper than LeakGuard's look at each link). */
    static int descriptors() {
        int n = 0;
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path ignored : fds) n++;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return n - 1;
    }

    /** A number field of /proc/self/status ("Threads:", "VmRSS:" in kB). */
    static long status(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new AssertionError("no " + field + " in /proc/self/status");
    }
}
