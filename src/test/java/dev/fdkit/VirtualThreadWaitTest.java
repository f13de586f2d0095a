package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Waits that park virtual threads in Java while the kernel waits (IORING_OP_FUTEX_WAIT on the shared
 * Uring, pidfds on the poller): 10,000 futex waiters and 1,000 child waiters on a carrier pool of 2, in a
 * child JVM so the pool size applies; and the timeout, wake and interrupt paths of one virtual-thread wait
 * here.
 */
@ExtendWith({ProcessWarmUp.class, LeakGuard.class}) // ProcessWarmUp first: JVM-lifetime threads and descriptors are baseline
@Timeout(60)
class VirtualThreadWaitTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void tenThousandFutexWaitersAndAThousandChildWaitersAllCompleteOnTwoCarriers() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> "io_uring FUTEX: " + Linux.feature(Feature.IO_URING_FUTEX).cause());
        ScenarioJvm.Result r = ScenarioJvm.runScenario(Duration.ofSeconds(50),
                List.of("-Djdk.virtualThreadScheduler.parallelism=2", "-Djdk.virtualThreadScheduler.maxPoolSize=2"),
                "futex-waiters", "10000", "child-waiters", "1000");
        System.out.println("[VirtualThreadWaitTest] child JVM:\n" + r.output().strip());

        assertThat(r.exitCode()).as("child exit code; output:%n%s", r.output()).isZero();
        assertThat(r.value("carriers")).isEqualTo("2/2");
        // All 10,000 waits were in the kernel at once: with each wait pinning a carrier, 2 would be the limit.
        assertThat(r.number("futex.kernelConsumed")).as("FUTEX_WAIT SQEs the kernel consumed before any wake").isEqualTo(10_000);
        assertThat(r.number("futex.inFlightPeak")).isEqualTo(10_000);
        assertThat(r.number("futex.wokenByWake")).as("each wake(1) found its waiter").isEqualTo(10_000);
        assertThat(r.number("futex.wokenInAwait")).isEqualTo(10_000);
        assertThat(r.number("futex.finished")).isEqualTo(10_000);
        assertThat(r.number("futex.failures")).isZero();
        assertThat(r.number("futex.alive")).isZero();
        assertThat(r.number("futex.inFlightAfter")).isZero();
        // The children: all exited 0, and far more than 2 were waited for at once (pinned waits would cap it
        // at the 2 carriers and take 500 s for 1,000 one-second sleeps).
        assertThat(r.number("children.exitedZero")).isEqualTo(1_000);
        assertThat(r.number("children.failures")).isZero();
        assertThat(r.number("children.alive")).isZero();
        assertThat(r.number("children.waitingPeak")).isGreaterThan(2);
        assertThat(r.number("children.msTotal")).isLessThan(30_000);
        assertThat(r.value("done")).isEqualTo("true");
    }

    @Test
    void aTimedVirtualThreadFutexWaitTimesOutAndLeavesNothingInFlight() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> "io_uring FUTEX: " + Linux.feature(Feature.IO_URING_FUTEX).cause());
        Futex futex = Futex.privateWord(Arena.ofAuto().allocate(JAVA_INT), 0);
        int before = Uring.shared().inFlight();
        AtomicReference<Futex.WaitResult> result = new AtomicReference<>();
        AtomicLong elapsed = new AtomicLong();

        Thread waiter = Thread.ofVirtual().start(() -> {
            long start = System.nanoTime();
            result.set(futex.await(0, Duration.ofMillis(50)));
            elapsed.set(System.nanoTime() - start);
        });

        assertThat(waiter.join(WAIT)).isTrue();
        assertThat(result.get()).isEqualTo(Futex.WaitResult.TIMED_OUT);
        assertThat(elapsed.get()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(50));
        assertThat(Uring.shared().inFlight()).as("the wait and its cancel are both finished").isEqualTo(before);
        assertThat(futex.wake(1)).as("no waiter left in the kernel").isZero();
    }

    @Test
    void aVirtualThreadFutexWaitIsWokenByWakeFromAnotherThread() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> "io_uring FUTEX: " + Linux.feature(Feature.IO_URING_FUTEX).cause());
        Futex futex = Futex.privateWord(Arena.ofAuto().allocate(JAVA_INT), 0);
        int before = Uring.shared().inFlight();
        AtomicReference<Futex.WaitResult> result = new AtomicReference<>();

        Thread waiter = Thread.ofVirtual().start(() -> result.set(futex.await(0)));
        awaitInFlight(before + 1);

        // inFlight() counts the wait before io_uring_enter hands it to the kernel: wake until it is there.
        // (The word stays 0: changing it first would let a late submission end in VALUE_MISMATCH.)
        int[] woken = {0};
        Processes.awaitCondition(WAIT, () -> (woken[0] = futex.wake(1)) != 0);
        assertThat(woken[0]).isEqualTo(1);
        assertThat(waiter.join(WAIT)).isTrue();
        assertThat(result.get()).isEqualTo(Futex.WaitResult.WOKEN);
        assertThat(Uring.shared().inFlight()).isEqualTo(before);
    }

    @Test
    void anInterruptedVirtualThreadFutexWaitReturnsWithTheInterruptKeptAndNothingInFlight() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> "io_uring FUTEX: " + Linux.feature(Feature.IO_URING_FUTEX).cause());
        Futex futex = Futex.privateWord(Arena.ofAuto().allocate(JAVA_INT), 0);
        int before = Uring.shared().inFlight();
        AtomicReference<Futex.WaitResult> result = new AtomicReference<>();
        AtomicBoolean interrupted = new AtomicBoolean();

        Thread waiter = Thread.ofVirtual().start(() -> {
            result.set(futex.await(0));
            interrupted.set(Thread.currentThread().isInterrupted());
        });
        awaitInFlight(before + 1);
        waiter.interrupt();

        assertThat(waiter.join(WAIT)).isTrue();
        assertThat(result.get()).as("a spurious wake-up: callers re-check the word").isEqualTo(Futex.WaitResult.WOKEN);
        assertThat(interrupted.get()).isTrue();
        assertThat(Uring.shared().inFlight()).isEqualTo(before);
        assertThat(futex.wake(1)).isZero();
    }

    @Test
    void aVirtualThreadFutexWaitOnAChangedWordIsAValueMismatch() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> "io_uring FUTEX: " + Linux.feature(Feature.IO_URING_FUTEX).cause());
        Futex futex = Futex.privateWord(Arena.ofAuto().allocate(JAVA_INT), 0);
        futex.set(3);
        AtomicReference<Futex.WaitResult> result = new AtomicReference<>();

        Thread waiter = Thread.ofVirtual().start(() -> result.set(futex.await(0, Duration.ofSeconds(5))));

        assertThat(waiter.join(WAIT)).isTrue();
        assertThat(result.get()).isEqualTo(Futex.WaitResult.VALUE_MISMATCH);
    }

    private static void awaitInFlight(int count) throws InterruptedException {
        Processes.awaitCondition(WAIT, () -> Uring.shared().inFlight() >= count);
        assertThat(Uring.shared().inFlight()).as("operations in flight on the shared ring").isEqualTo(count);
    }
}
