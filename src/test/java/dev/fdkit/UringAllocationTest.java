package dev.fdkit;

import dev.fdkit.internal.linux.fdkit_h;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Bytes allocated per io_uring operation, measured by the JVM's per-thread allocation counter (not by time):
 * {@link Uring#submitWith} allocates nothing per operation on the submitting thread nor on the reaping thread,
 * once the code is compiled; the future API allocates, and the same measure sees it (the measure can fail).
 * <p>
 * The ops are a Nop, a Timeout(0) and a FutexWake (where io_uring has futex ops), records made once and
 * resubmitted as each completes. Each measured round runs {@value #OPS} operations after a warm-up of as many;
 * C2 may compile the loop after the first measured round began (the machine is shared), so a round is repeated,
 * at most {@value #ROUNDS} times, until one stays under 1 byte per operation: a path that allocates per
 * operation never does (the future path allocates hundreds of bytes in every round).
 */
@ExtendWith(LeakGuard.class)
@Timeout(120)
class UringAllocationTest {
    private static final int OPS = 20_000;
    private static final int ROUNDS = 10;
    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

    /**
     * com.sun.management.ThreadMXBean#getThreadAllocatedBytes(long), through a method handle: the test sources are
     * compiled as the dev.fdkit module, which does not read jdk.management (and needs not: fdkit does not use it).
     */
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final MethodHandle ALLOCATED_BYTES = allocatedBytesHandle();
    private Uring.Op[] ops;

    @BeforeEach
    void allocationIsMeasurable() {
        assumeTrue(Linux.has(Feature.IO_URING), () -> "io_uring: " + Linux.feature(Feature.IO_URING).cause());
        assumeTrue(ALLOCATED_BYTES != null && allocatedBytes(Thread.currentThread().threadId()) >= 0, "no per-thread allocation counter");
        Futex futex = Futex.privateWord(Arena.ofAuto().allocate(8, 8), 0);
        ops = Linux.has(Feature.IO_URING_FUTEX)
                ? new Uring.Op[] {new Uring.Nop(1), new Uring.Timeout(Duration.ZERO, 2), new Uring.FutexWake(futex, 1, 3)}
                : new Uring.Op[] {new Uring.Nop(1), new Uring.Timeout(Duration.ZERO, 2)};
    }

    /** Counts completions and checks each one's cookie and result without allocating. */
    private static final class Counter implements Uring.CompletionHandler {
        volatile long done;
        volatile long wrong; // completions whose cookie or res was not the op's

        @Override
        public void onCompletion(long cookie, int res, int flags) {
            int expected = cookie == 2 ? -fdkit_h.ETIME() : 0; // the Timeout expires; a Nop, a FutexWake of nobody: 0
            if (cookie < 1 || cookie > 3 || res != expected || flags != 0) wrong++;
            done++;
        }
    }

    @Test
    void theHandlerPathAllocatesNothingPerOperationWhenOneThreadSubmitsAndReaps() {
        try (Poller poller = Poller.open(); Uring uring = Uring.open(64, poller)) { // a poller nobody polls: we reap
            Counter counter = new Counter();
            long self = Thread.currentThread().threadId();
            runOnThisThread(uring, counter, OPS); // warm-up
            long perOp;
            int rounds = 0;
            do {
                rounds++;
                long before = allocatedBytes(self);
                runOnThisThread(uring, counter, OPS);
                long bytes = allocatedBytes(self) - before;
                perOp = bytes / OPS;
                System.out.printf("Uring handler path, one thread: %d B over %d ops (%.3f B/op), round %d%n", bytes, OPS, (double) bytes / OPS, rounds);
            } while (perOp >= 1 && rounds < ROUNDS);
            assertThat(perOp).as("bytes per op in round %d (rounds stop at the first under 1 B/op)", rounds).isZero();
            assertThat(counter.wrong).isZero();
            assertThat(counter.done).isEqualTo((long) OPS * (rounds + 1)); // the warm-up's too
            assertThat(uring.inFlight()).isZero();
        }
    }

    @Test
    void theHandlerPathAllocatesNothingPerOperationOnTheSubmittingNorTheReapingThread() throws Exception {
        try (Poller poller = Poller.open(); Uring uring = Uring.open(64, poller)) {
            Counter counter = new Counter();
            AtomicBoolean stop = new AtomicBoolean();
            Thread reaper = Thread.ofPlatform().name("test-reaper").start(() -> {
                while (!stop.get()) uring.reap();
            });
            try {
                long self = Thread.currentThread().threadId();
                long reaperId = reaper.threadId();
                submitAndAwait(uring, counter, OPS); // warm-up, both threads
                long submitterPerOp;
                long reaperPerOp;
                int rounds = 0;
                do {
                    rounds++;
                    long submitterBefore = allocatedBytes(self);
                    long reaperBefore = allocatedBytes(reaperId);
                    submitAndAwait(uring, counter, OPS);
                    long submitter = allocatedBytes(self) - submitterBefore;
                    long reaped = allocatedBytes(reaperId) - reaperBefore;
                    submitterPerOp = submitter / OPS;
                    reaperPerOp = reaped / OPS;
                    System.out.printf("Uring handler path, two threads: submitter %d B, reaper %d B over %d ops, round %d%n", submitter, reaped, OPS, rounds);
                } while ((submitterPerOp >= 1 || reaperPerOp >= 1) && rounds < ROUNDS);
                assertThat(submitterPerOp).as("submitter's bytes per op in round %d (rounds stop at the first under 1 B/op)", rounds).isZero();
                assertThat(reaperPerOp).as("reaper's bytes per op in round %d (rounds stop at the first under 1 B/op)", rounds).isZero();
                assertThat(counter.wrong).isZero();
            } finally {
                stop.set(true);
                reaper.join(TimeUnit.SECONDS.toMillis(10));
            }
            assertThat(reaper.isAlive()).isFalse();
        }
    }

    @Test
    void theBatchHandlerPathAllocatesNothingPerOperationOnAnUnwatchedRing() {
        try (Uring uring = Uring.openUnwatched(64)) { // no poller at all: only this thread reaps
            Counter counter = new Counter();
            List<Uring.Op> batch = new ArrayList<>(); // the same records, submitted again once each batch completed
            for (int i = 0; i < 30; i++) batch.add(new Uring.Nop(1)); // cookies must be unique within a batch...
            assertThatThrownBy(() -> uring.submitAllWith(batch, counter)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("ops[1]: cookie 1 is also the cookie of ops[0]");
            for (int i = 0; i < 30; i++) batch.set(i, i < ops.length ? ops[i] : new Uring.Nop(4 + i));
            long self = Thread.currentThread().threadId();
            BatchCounter checked = new BatchCounter();
            runBatches(uring, batch, checked, OPS / 30); // warm-up
            long perOp;
            int rounds = 0;
            do {
                rounds++;
                long before = allocatedBytes(self);
                runBatches(uring, batch, checked, OPS / 30);
                long bytes = allocatedBytes(self) - before;
                perOp = bytes / OPS;
                System.out.printf("Uring batch handler path, unwatched: %d B over %d ops, round %d%n", bytes, OPS / 30 * 30, rounds);
            } while (perOp >= 1 && rounds < ROUNDS);
            assertThat(perOp).as("bytes per op in round %d (rounds stop at the first under 1 B/op)", rounds).isZero();
            assertThat(checked.wrong).isZero();
            assertThat(checked.done).isEqualTo((long) OPS / 30 * 30 * (rounds + 1));
            assertThat(uring.inFlight()).isZero();
        }
    }

    /**
     * {@code batches} submitAllWith calls of {@code batch}, each reaped in full on this thread before the next;
     * checks every completion's cookie and result as {@link Counter} does for the ops 1 to 3, and res 0 for the rest.
     */
    private static void runBatches(Uring uring, List<Uring.Op> batch, BatchCounter counter, int batches) {
        for (int b = 0; b < batches; b++) {
            uring.submitAllWith(batch, counter);
            long deadline = System.nanoTime() + WAIT_NANOS;
            while (uring.inFlight() > 0) {
                if (uring.reap() == 0 && System.nanoTime() > deadline) throw new AssertionError("batch " + b + " incomplete after 10 s");
            }
        }
    }

    /** As {@link Counter}, for a batch: cookies 1 to 3 are the ops of {@link #ops}, the others Nops (res 0). */
    private static final class BatchCounter implements Uring.CompletionHandler {
        long done;
        long wrong;

        @Override
        public void onCompletion(long cookie, int res, int flags) {
            int expected = cookie == 2 ? -fdkit_h.ETIME() : 0;
            if (cookie < 1 || cookie > 33 || res != expected || flags != 0) wrong++;
            done++;
        }
    }

    /** The control: the future API allocates per operation, and this measure shows it. */
    @Test
    void theFutureApiAllocatesPerOperationAndTheMeasureSeesIt() {
        try (Poller poller = Poller.open(); Uring uring = Uring.open(64, poller)) {
            long self = Thread.currentThread().threadId();
            int n = OPS / 4;
            futures(uring, n); // warm-up
            long before = allocatedBytes(self);
            futures(uring, n);
            long bytes = allocatedBytes(self) - before;
            System.out.printf("Uring future path: %.1f B/op%n", (double) bytes / n);
            assertThat(bytes / n).as("bytes per op of submit(op)").isGreaterThan(32);
        }
    }

    private static MethodHandle allocatedBytesHandle() {
        try {
            Class<?> bean = Class.forName("com.sun.management.ThreadMXBean");
            return MethodHandles.publicLookup().findVirtual(bean, "getThreadAllocatedBytes", MethodType.methodType(long.class, long.class));
        } catch (ReflectiveOperationException e) {
            return null; // not HotSpot's bean: the tests are skipped
        }
    }

    /** Bytes allocated so far by the thread, -1 if the JVM does not count. */
    private static long allocatedBytes(long threadId) {
        try {
            return (long) ALLOCATED_BYTES.invoke(THREADS, threadId);
        } catch (Throwable t) {
            throw new AssertionError("getThreadAllocatedBytes", t);
        }
    }

    private void runOnThisThread(Uring uring, Counter counter, int n) {
        for (int i = 0; i < n; i++) {
            uring.submitWith(ops[i % ops.length], counter);
            long target = counter.done + 1;
            long deadline = System.nanoTime() + WAIT_NANOS;
            while (counter.done < target) {
                if (uring.reap() == 0 && System.nanoTime() > deadline) throw new AssertionError("no completion within 10 s, op " + i);
            }
        }
    }

    /** Submits on this thread, each op once the last completed on the reaper. */
    private void submitAndAwait(Uring uring, Counter counter, int n) {
        for (int i = 0; i < n; i++) {
            long target = counter.done + 1;
            uring.submitWith(ops[i % ops.length], counter);
            long deadline = System.nanoTime() + WAIT_NANOS;
            while (counter.done < target) {
                if (System.nanoTime() > deadline) throw new AssertionError("no completion within 10 s, op " + i);
                Thread.onSpinWait();
            }
        }
    }

    private void futures(Uring uring, int n) {
        for (int i = 0; i < n; i++) {
            CompletableFuture<Completion> f = uring.submit(ops[i % ops.length]);
            while (!f.isDone()) uring.reap();
        }
    }
}
