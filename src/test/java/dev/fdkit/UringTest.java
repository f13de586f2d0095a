package dev.fdkit;

import dev.fdkit.internal.Errno;
import dev.fdkit.internal.IoUringPrep;
import dev.fdkit.internal.IoUringRing;
import dev.fdkit.internal.Spawner;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.linux.fdkit_h;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every Uring operation against the real kernel: NOP, POLL_ADD (one-shot and multishot), READ, TIMEOUT,
 * ASYNC_CANCEL, WAITID, FUTEX_WAIT / WAKE / WAITV; batches (submitAll); argument checks; an overflowed
 * completion queue; close() with operations in flight; and a ring reaped by a poller the test drives itself.
 * <p>
 * Cookies are small positive numbers chosen per test (the internal range is negative).
 */
@ExtendWith({UringTest.ProcessDescriptorCleanerFirst.class, LeakGuard.class})
@Timeout(60)
class UringTest {
    /**
     * ProcessDescriptor's Cleaner thread lives as long as the JVM once the class is initialised: start it
     * before LeakGuard takes its baseline. (The shared Uring is deliberately not touched: a private ring
     * must never open it.)
     */
    static final class ProcessDescriptorCleanerFirst implements BeforeAllCallback {
        @Override
        public void beforeAll(ExtensionContext context) throws ClassNotFoundException {
            Class.forName(ProcessDescriptor.class.getName(), true, ProcessDescriptor.class.getClassLoader());
        }
    }

    private static final long WAIT_SECONDS = 10;
    private static final int POLLIN = fdkit_h.POLLIN();
    private static final long F_MORE = fdkit_h.IORING_CQE_F_MORE();

    private Uring uring;

    @BeforeEach
    void openRing() {
        assumeTrue(Linux.has(Feature.IO_URING), () -> "io_uring: " + Linux.feature(Feature.IO_URING).cause());
        uring = Uring.open(64);
    }

    /** A reap gathers its CQEs before running their handlers: a handler that reaps again still sees every completion, in order. */
    @Test
    void aHandlerThatReapsAgainGetsItsCompletionBeforeTheRestOfTheBatchInOrder() {
        try (Uring unwatched = Uring.openUnwatched(64)) {
            List<Long> order = new ArrayList<>();
            Uring.CompletionHandler[] handler = new Uring.CompletionHandler[1];
            handler[0] = (cookie, res, flags) -> {
                order.add(cookie);
                if (cookie != 1) return;
                unwatched.submitWith(new Uring.Nop(100), handler[0]);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!order.contains(100L)) { // nested in the reap that runs this handler
                    if (unwatched.reap() == 0 && System.nanoTime() > deadline) throw new AssertionError("Nop 100 not reaped within 10 s");
                }
            };
            List<Uring.Op> batch = new ArrayList<>();
            for (long c = 1; c <= 40; c++) batch.add(new Uring.Nop(c));
            unwatched.submitAllWith(batch, handler[0]);
            assertThat(unwatched.reap()).isEqualTo(40);
            List<Long> expected = new ArrayList<>(List.of(1L, 100L));
            for (long c = 2; c <= 40; c++) expected.add(c);
            assertThat(order).isEqualTo(expected);
            assertThat(unwatched.inFlight()).isZero();
        }
    }

    @Test
    void anUnwatchedRingCompletesOnlyWhenItsOwnerReapsAndItsCloseFailsWhatIsLeft() throws Exception {
        assertThatThrownBy(() -> Uring.openUnwatched(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("entries");
        try (Uring uring = Uring.openUnwatched(8)) {
            CompletableFuture<Completion> nop = uring.submit(new Uring.Nop(1));
            // A NOP completes inside the io_uring_enter that submits it: its CQE waits in the ring, and no poller reaps it.
            assertThat(nop.isDone()).as("completed before anyone reaped").isFalse();
            assertThat(Syscalls.poll(uring.fd(), fdkit_h.POLLIN(), 0)).as("the ring descriptor is readable: a CQE waits").isEqualTo(1);
            assertThat(uring.reap()).isEqualTo(1);
            assertThat(nop.join().res()).isZero();
            CompletableFuture<Completion> timeout = uring.submit(new Uring.Timeout(Duration.ofHours(1), 2));
            uring.close();
            assertThat(catchThrowable(timeout::join).getCause()).isInstanceOf(IOException.class).hasMessageContaining("Uring closed");
        }
    }

    @AfterEach
    void closeRing() {
        if (uring == null) return;
        int left = uring.inFlight();
        uring.close();
        assertThat(left).as("operations a test left in flight").isZero();
    }

    // ------------------------------------------------------------------ NOP

    @Test
    void nopCompletesWithResultZeroItsCookieAndItsOpcode() throws Exception {
        Completion c = get(uring.submit(new Uring.Nop(42)));

        assertThat(c.cookie()).isEqualTo(42);
        assertThat(c.obj()).isEqualTo(fdkit_h.IORING_OP_NOP());
        assertThat(c.res()).isZero();
        assertThat(c.res2() & F_MORE).isZero();
        assertThat(uring.inFlight()).isZero();
    }

    @Test
    void concurrentSubmittersThroughAFullSubmissionQueueLoseNothing() throws Exception {
        try (Uring small = Uring.open(4)) {
            int threads = 4, perThread = 500;
            List<CompletableFuture<Completion>> futures = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> submitters = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long base = (long) t * perThread;
                submitters.add(Thread.ofVirtual().start(() -> {
                    for (int i = 0; i < perThread; i++) futures.add(small.submit(new Uring.Nop(base + i)));
                }));
            }
            for (Thread t : submitters) t.join();

            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(WAIT_SECONDS, TimeUnit.SECONDS);
            Set<Long> cookies = new HashSet<>();
            for (CompletableFuture<Completion> f : futures) cookies.add(f.join().cookie());
            assertThat(cookies).hasSize(threads * perThread);
            assertThat(small.inFlight()).isZero();
        }
    }

    // ------------------------------------------------------------------ POLL_ADD

    @Test
    void oneShotPollAddCompletesWithPollinAfterTheEventFdIsSignalledAndNotBefore() throws Exception {
        try (EventFd e = EventFd.open()) {
            CompletableFuture<Completion> ready = uring.submit(new Uring.PollAdd(e, Poller.READABLE, false, 1));

            assertThat(catchThrowable(() -> ready.get(150, TimeUnit.MILLISECONDS))).as("completed before the signal").isInstanceOf(TimeoutException.class);
            assertThat(uring.inFlight()).isEqualTo(1);
            e.signal(1);

            Completion c = get(ready);
            assertThat(c.obj()).isEqualTo(fdkit_h.IORING_OP_POLL_ADD());
            assertThat(c.res() & POLLIN).as("poll mask 0x%x", c.res()).isEqualTo(POLLIN);
            assertThat(c.res2() & F_MORE).isZero();
            assertThat(e.tryReadValue()).as("polling consumes nothing").isEqualTo(1);
        }
    }

    @Test
    void multishotPollAddDeliversACompletionWithTheMoreFlagPerSignalUntilCancelled() throws Exception {
        try (EventFd e = EventFd.open()) {
            BlockingQueue<Completion> each = new LinkedBlockingQueue<>();
            CompletableFuture<Completion> last = uring.submit(new Uring.PollAdd(e, Poller.READABLE, true, 2), each::add);

            for (int round = 0; round < 3; round++) {
                e.signal(1);
                Completion c = each.poll(WAIT_SECONDS, TimeUnit.SECONDS);
                assertThat(c).as("completion for signal %d", round).isNotNull();
                assertThat(c.cookie()).isEqualTo(2);
                assertThat(c.res() & POLLIN).isEqualTo(POLLIN);
                assertThat(c.res2() & F_MORE).as("IORING_CQE_F_MORE on completion %d", round).isEqualTo(F_MORE);
                assertThat(e.tryReadValue()).isEqualTo(1);
                assertThat(last).as("a multishot poll is not finished by its completions").isNotDone();
            }
            assertThat(uring.inFlight()).isEqualTo(1);

            Completion cancel = get(uring.cancel(2));
            Completion end = get(last);

            assertThat(cancel.res()).isZero();
            assertThat(end.res()).isEqualTo(-Errno.ECANCELED);
            assertThat(end.res2() & F_MORE).isZero();
            // The consumer saw every completion, the final one included, and nothing after it.
            List<Completion> seen = new ArrayList<>();
            each.drainTo(seen);
            assertThat(seen).last().isEqualTo(end);
            assertThat(seen.subList(0, seen.size() - 1)).allSatisfy(c -> assertThat(c.res2() & F_MORE).isEqualTo(F_MORE));
        }
    }

    @Test
    void closingTheEventFdOfAnInFlightPollCancelsItAndReallyClosesTheDescriptor() throws Exception {
        int before = LeakGuard.openDescriptorCount();
        EventFd e = EventFd.open();
        CompletableFuture<Completion> poll = uring.submit(new Uring.PollAdd(e, Poller.READABLE, false, 3));
        assertThat(LeakGuard.openDescriptorCount()).isEqualTo(before + 1);

        e.close();
        Completion c = get(poll);

        assertThat(c.res()).isEqualTo(-Errno.ECANCELED);
        // The poll held a use of the descriptor; it is released before the future completes, and with it
        // the deferred close(2) runs.
        assertThat(LeakGuard.openDescriptorCount()).isEqualTo(before);
        assertThatThrownBy(() -> uring.submit(new Uring.PollAdd(e, Poller.READABLE, false, 4))).isInstanceOf(IllegalStateException.class);
    }

    // ------------------------------------------------------------------ READ

    @Test
    void readOnAnEventFdReturnsEightBytesHoldingTheCounter() throws Exception {
        try (EventFd e = EventFd.open(); Arena arena = Arena.ofConfined()) {
            e.signal(42);
            assertThat(uring.read(e).get(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo(42);

            MemorySegment buffer = arena.allocate(JAVA_LONG);
            e.signal(7);
            Completion c = get(uring.submit(new Uring.Read(e, buffer, 5)));
            assertThat(c.obj()).isEqualTo(fdkit_h.IORING_OP_READ());
            assertThat(c.res()).isEqualTo(8);
            assertThat(buffer.get(JAVA_LONG, 0)).isEqualTo(7);
            assertThat(e.tryReadValue()).as("the read reset the counter").isZero();
        }
    }

    @Test
    void readOfAnEmptyEventFdCompletesOnceItIsSignalled() throws Exception {
        try (EventFd e = EventFd.open()) {
            CompletableFuture<Long> value = uring.read(e);
            assertThat(catchThrowable(() -> value.get(100, TimeUnit.MILLISECONDS))).isInstanceOf(TimeoutException.class);

            e.signal(9);

            assertThat(value.get(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo(9);
            assertThat(e.tryReadValue()).isZero();
        }
    }

    // ------------------------------------------------------------------ TIMEOUT and ASYNC_CANCEL

    @Test
    void timeoutCompletesWithEtimeNoEarlierThanItsDuration() throws Exception {
        long start = System.nanoTime();
        Completion c = get(uring.submit(new Uring.Timeout(Duration.ofMillis(100), 6)));
        long elapsed = System.nanoTime() - start;

        assertThat(c.obj()).isEqualTo(fdkit_h.IORING_OP_TIMEOUT());
        assertThat(c.res()).isEqualTo(-fdkit_h.ETIME());
        assertThat(elapsed).as("elapsed ns").isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(100));
    }

    @Test
    void aNegativeTimeoutExpiresAtOnceAsZeroDoes() throws Exception {
        // fdkit's one rule for timeouts (README): negative means "do not wait", never an exception.
        Completion c = get(uring.submit(new Uring.Timeout(Duration.ofMillis(-1), 9)));
        assertThat(c.res()).isEqualTo(-fdkit_h.ETIME());
    }

    @Test
    void cancellingALongTimeoutCompletesItWithEcanceledAndTheCancelWithZero() throws Exception {
        CompletableFuture<Completion> timeout = uring.submit(new Uring.Timeout(Duration.ofHours(1), 7));
        CompletableFuture<Completion> cancel = uring.submit(new Uring.Cancel(7, 8));

        assertThat(get(cancel).res()).isZero();
        assertThat(get(cancel).obj()).isEqualTo(fdkit_h.IORING_OP_ASYNC_CANCEL());
        assertThat(get(timeout).res()).isEqualTo(-Errno.ECANCELED);
    }

    @Test
    void aTimeoutTooLongForALongOfNanosecondsIsAcceptedAndTakesExactlyOneSubmissionSlot() throws Exception {
        uring.close(); // first: the new ring may well get the number of the old one
        int ring = newRingDescriptor(() -> uring = Uring.open(8));
        long tailBefore = sqTail(ring);
        CompletableFuture<Completion> earlier = uring.submit(new Uring.Timeout(Duration.ofHours(1), 0));
        CompletableFuture<Completion> forever = uring.submit(new Uring.Timeout(ChronoUnit.FOREVER.getDuration(), 1));

        // A stray SQE (a zeroed slot is a NOP with cookie 0) would go in with this NOP, complete before it and
        // so complete the unrelated operation with cookie 0.
        assertThat(get(uring.submit(new Uring.Nop(5))).res()).isZero();
        assertThat(earlier).as("the operation with cookie 0").isNotDone();
        assertThat(forever).isNotDone();
        assertThat(sqTail(ring)).as("SqTail in fdinfo: one SQE per operation").isEqualTo(tailBefore + 3);

        assertThat(get(uring.cancel(1)).res()).isZero();
        assertThat(get(forever).res()).isEqualTo(-Errno.ECANCELED);
        assertThat(get(uring.cancel(0)).res()).isZero();
        assertThat(get(earlier).res()).isEqualTo(-Errno.ECANCELED);
    }

    @Test
    void submissionsTheKernelDidNotTakeAreWithdrawnAndNeverSubmittedByALaterEnter() throws Exception {
        // What Uring does after an io_uring_enter fails: the SQEs still queued must not reach the kernel later.
        IoUringRing raw = new IoUringRing(4, 8);
        try {
            List<Long> cookies = new ArrayList<>();
            nop(raw.nextSqe(), 7);
            nop(raw.nextSqe(), 8);
            assertThat(raw.withdrawUnsubmitted()).isEqualTo(2);
            assertThat(raw.pending()).isZero();

            raw.nextSqe(); // claimed, then its op cannot be prepared: given back
            raw.unclaimLastSqe();
            nop(raw.nextSqe(), 9);
            assertThat(raw.submit(0)).as("SQEs the kernel took").isEqualTo(1);
            raw.reap((userData, res, flags) -> cookies.add(userData));
            assertThat(cookies).containsExactly(9L);
            assertThat(raw.withdrawUnsubmitted()).as("nothing left once the kernel took everything").isZero();
        } finally {
            raw.close();
        }
    }

    private static void nop(MemorySegment sqe, long cookie) {
        IoUringPrep.prepNop(sqe);
        IoUringPrep.setData64(sqe, cookie);
    }

    @Test
    void cancellingAnUnknownCookieCompletesWithEnoent() throws Exception {
        assertThat(get(uring.cancel(123_456)).res()).isEqualTo(-Errno.ENOENT);
    }

    // ------------------------------------------------------------------ WAITID

    @Test
    void exitOfASpawnedChildReportsItsExitStatus() throws Exception {
        try (ProcessDescriptor child = ProcessDescriptor.spawn("sh", "-c", "sleep 0.2; exit 7")) {
            ExitStatus status = uring.exitOf(child).get(WAIT_SECONDS, TimeUnit.SECONDS);

            assertThat(status.kind()).isEqualTo(ExitStatus.Kind.EXITED);
            assertThat(status.code()).isEqualTo(7);
        }
    }

    @Test
    void exitOfAChildThatHasAlreadyExitedAndBeenReapedStillReportsItsExitStatus() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_WAITID), () -> Linux.feature(Feature.IO_URING_WAITID).cause());
        try (ProcessDescriptor child = ProcessDescriptor.spawn("sh", "-c", "exit 5")) {
            child.waitFor(); // its ProcessDescriptor has reaped it: the kernel's waitid now says ECHILD

            ExitStatus status = uring.exitOf(child).get(WAIT_SECONDS, TimeUnit.SECONDS);

            assertThat(status.code()).isEqualTo(5);
        }
    }

    /** Regression: reaping an fdkit child through io_uring took its status from its descriptor (ECHILD). */
    @Test
    void waitidWithReapOnAnFdkitChildIsRefusedAndTheStatusStaysWithItsDescriptor() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_WAITID), () -> Linux.feature(Feature.IO_URING_WAITID).cause());
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "exit 4"))) {
            assertThatThrownBy(() -> uring.submit(new Uring.Waitid(child, true, 12)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reap must be false");
            assertThat(child.waitFor().code()).isEqualTo(4);
            assertThat(uring.inFlight()).isZero();
        }
    }

    @Test
    void rawWaitidWithoutReapLeavesTheChildAZombieAndWithReapReapsIt() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_WAITID), () -> Linux.feature(Feature.IO_URING_WAITID).cause());
        // A child that no reaper watches, so the kernel's answers are exact: a ProcessDescriptor.spawn child is
        // reaped by its descriptor as soon as it exits, which races with io_uring's re-check (see Uring.Waitid).
        List<String> environment = System.getenv().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
        Spawner.Child raw = Spawner.spawn(new Spawner.Request(List.of("sh", "-c", "sleep 0.2; exit 3"), environment, null,
                new int[] {-1, -1, -1}, false, false), true);
        Syscalls.close(raw.pidfd());
        try (ProcessDescriptor child = ProcessDescriptor.open(raw.pid())) {
            Completion noReap = get(uring.submit(new Uring.Waitid(child, false, 9)));
            assertThat(noReap.obj()).isEqualTo(fdkit_h.FDKIT_IORING_OP_WAITID());
            assertThat(noReap.res()).isZero();
            assertThat(Files.readString(Path.of("/proc/" + raw.pid() + "/stat"))).as("WNOWAIT: still a zombie").contains(") Z ");

            assertThat(get(uring.submit(new Uring.Waitid(child, true, 10))).res()).isZero();
            assertThat(get(uring.submit(new Uring.Waitid(child, true, 11))).res()).as("reaped: no such child any more").isEqualTo(-Errno.ECHILD);
        }
    }

    // ------------------------------------------------------------------ FUTEX_WAIT / WAKE / WAITV

    @Test
    void futexWaitIsWokenByAFutexWakeSyscall() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> Linux.feature(Feature.IO_URING_FUTEX).cause());
        Futex futex = Futex.privateWord(Arena.ofAuto().allocate(JAVA_INT), 0);
        CompletableFuture<Completion> wait = uring.submit(new Uring.FutexWait(futex, 0, 10));

        assertThat(futex.wake(1)).as("the kernel queued the waiter during submit").isEqualTo(1);

        Completion c = get(wait);
        assertThat(c.obj()).isEqualTo(fdkit_h.FDKIT_IORING_OP_FUTEX_WAIT());
        assertThat(c.res()).isZero();
    }

    @Test
    void futexWaitIsWokenByAFutexWakeOperation() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> Linux.feature(Feature.IO_URING_FUTEX).cause());
        Futex futex = Futex.sharedWord(Arena.ofAuto().allocate(JAVA_INT), 0);
        CompletableFuture<Futex.WaitResult> wait = uring.awaitFutex(futex, 0);

        Completion wake = get(uring.submit(new Uring.FutexWake(futex, 1, 11)));

        assertThat(wake.obj()).isEqualTo(fdkit_h.FDKIT_IORING_OP_FUTEX_WAKE());
        assertThat(wake.res()).as("waiters woken").isEqualTo(1);
        assertThat(wait.get(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo(Futex.WaitResult.WOKEN);
    }

    @Test
    void futexWaitOnAWordThatDoesNotHoldTheExpectedValueIsAValueMismatch() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> Linux.feature(Feature.IO_URING_FUTEX).cause());
        Futex futex = Futex.privateWord(Arena.ofAuto().allocate(JAVA_INT), 0);
        futex.set(5);

        assertThat(get(uring.submit(new Uring.FutexWait(futex, 0, 12))).res()).isEqualTo(-Errno.EAGAIN);
        assertThat(uring.awaitFutex(futex, 0).get(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo(Futex.WaitResult.VALUE_MISMATCH);
    }

    @Test
    void cancelledFutexWaitCompletesWithEcanceled() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> Linux.feature(Feature.IO_URING_FUTEX).cause());
        Futex futex = Futex.privateWord(Arena.ofAuto().allocate(JAVA_INT), 0);
        CompletableFuture<Completion> wait = uring.submit(new Uring.FutexWait(futex, 0, 13));

        // For futex (and waitid) targets the kernel answers with the number cancelled (1; since 6.7), where
        // other targets give 0.
        assertThat(get(uring.cancel(13)).res()).isIn(0L, 1L);

        assertThat(get(wait).res()).isEqualTo(-Errno.ECANCELED);
        assertThat(futex.wake(1)).as("no waiter left in the kernel").isZero();
    }

    @Test
    void futexWaitvOfThirtyWordsReportsTheIndexOfTheOneWoken() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> Linux.feature(Feature.IO_URING_FUTEX).cause());
        MemorySegment words = Arena.ofAuto().allocate(JAVA_INT, 30);
        List<Futex> futexes = new ArrayList<>();
        for (int i = 0; i < 30; i++) futexes.add(Futex.privateWord(words, 4L * i));
        CompletableFuture<Completion> wait = uring.submit(new Uring.FutexWaitv(futexes, new int[30], 14));

        assertThat(futexes.get(29).wake(1)).isEqualTo(1);

        Completion c = get(wait);
        assertThat(c.obj()).isEqualTo(fdkit_h.FDKIT_IORING_OP_FUTEX_WAITV());
        assertThat(c.res()).isEqualTo(29);
    }

    // ------------------------------------------------------------------ submitAll

    @Test
    void aBatchOfNopsCompletesInOrderWithItsCookies() throws Exception {
        List<Uring.Op> nops = new ArrayList<>();
        for (int i = 0; i < 32; i++) nops.add(new Uring.Nop(200 + i));

        List<CompletableFuture<Completion>> futures = uring.submitAll(nops);

        assertThat(futures).hasSize(32);
        for (int i = 0; i < 32; i++) {
            Completion c = get(futures.get(i));
            assertThat(c.cookie()).as("future %d", i).isEqualTo(200 + i);
            assertThat(c.obj()).isEqualTo(fdkit_h.IORING_OP_NOP());
            assertThat(c.res()).isZero();
        }
        assertThat(uring.inFlight()).isZero();
    }

    @Test
    void aBatchLargerThanTheSubmissionQueueCompletesEntirely() throws Exception {
        try (Uring small = Uring.open(4)) {
            assertThat(small.submissionEntries()).isEqualTo(4);
            List<Uring.Nop> nops = new ArrayList<>();
            for (int i = 0; i < 100; i++) nops.add(new Uring.Nop(300 + i));

            List<CompletableFuture<Completion>> futures = small.submitAll(nops);

            for (int i = 0; i < 100; i++) assertThat(get(futures.get(i)).cookie()).isEqualTo(300 + i);
            assertThat(small.inFlight()).isZero();
        }
    }

    @Test
    void aBatchThroughAFullSubmissionQueueAndAnOverflowingCompletionQueueLosesNothing() throws Exception {
        try (Poller undriven = Poller.open(); Uring tiny = Uring.open(2, 2, undriven)) {
            List<Uring.Nop> nops = new ArrayList<>();
            for (int i = 0; i < 64; i++) nops.add(new Uring.Nop(400 + i));

            List<CompletableFuture<Completion>> futures = tiny.submitAll(nops);
            tiny.reap(); // nobody else reaps: completions wait in the CQ and the kernel's overflow list

            for (int i = 0; i < 64; i++) {
                assertThat(futures.get(i)).as("NOP %d", i).isDone();
                assertThat(futures.get(i).join().cookie()).isEqualTo(400 + i);
            }
            assertThat(tiny.inFlight()).isZero();
        }
    }

    @Test
    void concurrentBatchesThroughASmallRingLoseNothing() throws Exception {
        try (Uring small = Uring.open(4)) {
            int threads = 4, batches = 50, perBatch = 10;
            List<CompletableFuture<Completion>> futures = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> submitters = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long base = (long) t * batches * perBatch;
                submitters.add(Thread.ofVirtual().start(() -> {
                    for (int b = 0; b < batches; b++) {
                        List<Uring.Op> batch = new ArrayList<>();
                        for (int i = 0; i < perBatch; i++) batch.add(new Uring.Nop(base + (long) b * perBatch + i));
                        futures.addAll(small.submitAll(batch));
                    }
                }));
            }
            for (Thread t : submitters) t.join();

            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(WAIT_SECONDS, TimeUnit.SECONDS);
            Set<Long> cookies = new HashSet<>();
            for (CompletableFuture<Completion> f : futures) cookies.add(f.join().cookie());
            assertThat(cookies).hasSize(threads * batches * perBatch);
            assertThat(small.inFlight()).isZero();
        }
    }

    @Test
    void aBatchMixingATimeoutAndAReadOfAnEventFdCompletesEachOnItsOwnEvent() throws Exception {
        try (EventFd e = EventFd.open(); Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(JAVA_LONG);
            List<CompletableFuture<Completion>> futures = uring.submitAll(List.of(
                    new Uring.Read(e, buffer, 500),
                    new Uring.Timeout(Duration.ofMillis(20), 501),
                    new Uring.Nop(502)));

            assertThat(get(futures.get(2)).res()).isZero();
            Completion timeout = get(futures.get(1));
            assertThat(timeout.obj()).isEqualTo(fdkit_h.IORING_OP_TIMEOUT());
            assertThat(timeout.res()).isEqualTo(-fdkit_h.ETIME());
            assertThat(futures.get(0)).as("nothing signalled the EventFd yet").isNotDone();

            e.signal(5);

            Completion read = get(futures.get(0));
            assertThat(read.obj()).isEqualTo(fdkit_h.IORING_OP_READ());
            assertThat(read.res()).isEqualTo(8);
            assertThat(buffer.get(JAVA_LONG, 0)).isEqualTo(5);
        }
    }

    @Test
    void anEmptyBatchReturnsAnEmptyListAndSubmitsNothing() throws Exception {
        uring.close();
        int ring = newRingDescriptor(() -> uring = Uring.open(8));
        long tailBefore = sqTail(ring);

        assertThat(uring.submitAll(List.of())).isEmpty();

        assertThat(sqTail(ring)).isEqualTo(tailBefore);
    }

    @Test
    void aBatchWithOneBadOpSubmitsNothingReleasesEverythingAndNamesTheIndex() throws Exception {
        uring.close(); // first: the new ring may well get the number of the old one
        int ring = newRingDescriptor(() -> uring = Uring.open(8));
        long tailBefore = sqTail(ring);
        int before = LeakGuard.openDescriptorCount();
        EventFd e = EventFd.open();
        EventFd closed = EventFd.open();
        closed.close();
        MemorySegment buffer = Arena.ofAuto().allocate(JAVA_LONG);
        record Bad(List<Uring.Op> ops, Class<? extends RuntimeException> type, String names) {}
        List<Bad> bad = List.of(
                new Bad(java.util.Arrays.asList(new Uring.PollAdd(e, Poller.READABLE, false, 40), new Uring.Read(e, buffer, 41),
                        new Uring.Nop(42), new Uring.Nop(41)), IllegalArgumentException.class, "ops[3]: cookie 41 is also the cookie of ops[1]"),
                new Bad(java.util.Arrays.asList(new Uring.PollAdd(e, Poller.READABLE, false, 40), new Uring.Read(e, buffer, 41), null),
                        NullPointerException.class, "ops[2] is null"),
                new Bad(List.of(new Uring.Read(e, buffer, 40), new Uring.PollAdd(closed, Poller.READABLE, false, 41)),
                        IllegalStateException.class, "ops[1]: EventFd"),
                new Bad(List.of(new Uring.PollAdd(e, Poller.READABLE, false, 40), new Uring.Read(e, null, 41)),
                        NullPointerException.class, "ops[1]: buffer is null"),
                new Bad(List.of(new Uring.Read(e, buffer, 40), new Uring.Nop(Long.MIN_VALUE)), IllegalArgumentException.class, "ops[1]: cookie"));
        for (Bad b : bad) {
            assertThatThrownBy(() -> uring.submitAll(b.ops())).as("%s", b.ops())
                    .isInstanceOf(b.type()).hasMessageContaining(b.names());
            assertThat(uring.inFlight()).as("in flight after %s", b.names()).isZero();
        }

        assertThat(sqTail(ring)).as("SqTail in fdinfo: nothing reached the submission queue").isEqualTo(tailBefore);
        e.close();
        // Each rejected batch held uses of e; had one not been released, e's close(2) would still wait for it.
        assertThat(LeakGuard.openDescriptorCount()).isEqualTo(before);
    }

    @Test
    void aBatchReusingACookieAlreadyInFlightIsRejectedAndTheFirstOperationIsUnharmed() throws Exception {
        CompletableFuture<Completion> first = uring.submit(new Uring.Timeout(Duration.ofHours(1), 50));

        assertThatThrownBy(() -> uring.submitAll(List.of(new Uring.Nop(51), new Uring.Nop(50))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ops[1]: cookie 50 is already in flight");
        assertThat(uring.inFlight()).isEqualTo(1);

        assertThat(get(uring.cancel(50)).res()).isZero();
        assertThat(get(first).res()).isEqualTo(-Errno.ECANCELED);
        assertThat(get(uring.submitAll(List.of(new Uring.Nop(51), new Uring.Nop(50))).get(1)).res()).as("both cookies are free").isZero();
    }

    @Test
    void closingTheEventFdOfABatchedPollCancelsItAndReallyClosesTheDescriptor() throws Exception {
        int before = LeakGuard.openDescriptorCount();
        EventFd e = EventFd.open();
        List<CompletableFuture<Completion>> futures = uring.submitAll(List.of(new Uring.Nop(60), new Uring.PollAdd(e, Poller.READABLE, false, 61)));
        assertThat(get(futures.get(0)).res()).isZero();

        e.close();

        assertThat(get(futures.get(1)).res()).isEqualTo(-Errno.ECANCELED);
        assertThat(LeakGuard.openDescriptorCount()).isEqualTo(before);
    }

    // ------------------------------------------------------------------ argument checks

    @Test
    void aCookieAlreadyInFlightIsRejectedAndTheFirstOperationIsUnharmed() throws Exception {
        CompletableFuture<Completion> first = uring.submit(new Uring.Timeout(Duration.ofHours(1), 15));

        assertThatThrownBy(() -> uring.submit(new Uring.Nop(15)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("15");
        assertThat(uring.inFlight()).isEqualTo(1);

        assertThat(get(uring.cancel(15)).res()).isZero();
        assertThat(get(first).res()).isEqualTo(-Errno.ECANCELED);
        assertThat(get(uring.submit(new Uring.Nop(15))).res()).as("the cookie is free again").isZero();
    }

    @Test
    void badArgumentsAreRejectedBeforeAnySubmission() throws Exception {
        uring.close(); // first: the new ring may well get the number of the old one
        int ring = newRingDescriptor(() -> uring = Uring.open(8));
        long tailBefore = sqTail(ring);
        try (EventFd e = EventFd.open()) {
            Futex futex = Futex.privateWord(Arena.ofAuto().allocate(JAVA_INT), 0);
            List<Futex> tooMany = new ArrayList<>();
            MemorySegment words = Arena.ofAuto().allocate(JAVA_INT, Futex.MAX_WAITERS + 1);
            for (int i = 0; i <= Futex.MAX_WAITERS; i++) tooMany.add(Futex.privateWord(words, 4L * i));

            List<Uring.Op> bad = List.of(
                    new Uring.FutexWaitv(List.of(), new int[0], 21),
                    new Uring.FutexWaitv(tooMany, new int[tooMany.size()], 22),
                    new Uring.FutexWaitv(List.of(futex), new int[2], 23),
                    new Uring.FutexWake(futex, 0, 24),
                    new Uring.PollAdd(e, 0, false, 25),
                    new Uring.PollAdd(e, 0x40, false, 26),
                    new Uring.Read(e, MemorySegment.ofArray(new byte[8]), 27),
                    new Uring.Read(e, Arena.ofAuto().allocate(8).asReadOnly(), 28),
                    new Uring.PollAdd(() -> e.fd(), Poller.READABLE, false, 29), // a bare Pollable: no use count to hold
                    new Uring.Nop(Long.MIN_VALUE)); // reserved for close()'s cancel-everything request
            for (Uring.Op op : bad) {
                assertThat(catchThrowable(() -> uring.submit(op))).as("%s", op).isInstanceOf(IllegalArgumentException.class);
            }

            assertThat(sqTail(ring)).as("SqTail in fdinfo: nothing reached the submission queue").isEqualTo(tailBefore);
            assertThat(uring.inFlight()).isZero();
            assertThat(e.tryReadValue()).isZero();
            assertThat(get(uring.submit(new Uring.Nop(30))).res()).as("the ring still works").isZero();
            assertThat(sqTail(ring)).isEqualTo(tailBefore + 1);
        }
    }

    @Test
    void pollAddOnAnUnsupportedTargetNamesExactlyTheTypesAccepted() {
        try (Poller poller = Poller.open(); CompletionRing ring = CompletionRing.allocate(4)) {
            for (Pollable target : List.of(poller, ring)) {
                assertThatThrownBy(() -> uring.submit(new Uring.PollAdd(target, Poller.READABLE, false, 1)))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("target must be an EventFd or a ProcessDescriptor, was " + target);
            }
        }
        assertThat(uring.inFlight()).isZero();
    }

    @Test
    void futexOperationsOnAWordWhoseMemoryIsClosedAreRejectedBeforeSubmission() {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> "io_uring FUTEX: " + Linux.feature(Feature.IO_URING_FUTEX).cause());
        Arena arena = Arena.ofShared();
        Futex futex = Futex.privateWord(arena.allocate(JAVA_INT), 0);
        arena.close();
        // The kernel would get a bare address, whose memory may already be someone else's.
        for (Uring.Op op : List.<Uring.Op>of(new Uring.FutexWait(futex, 0, 1), new Uring.FutexWake(futex, 1, 2))) {
            assertThatThrownBy(() -> uring.submit(op)).as("%s", op).isInstanceOf(IllegalStateException.class)
                    .hasMessage("futex: memory is already closed");
        }
        assertThat(uring.inFlight()).isZero();
    }

    @Test
    void aTooSmallOrTooLargeRingIsRejected() {
        assertThatThrownBy(() -> Uring.open(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Uring.open(32769)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Uring.open(8, 4, Poller.shared())).isInstanceOf(IllegalArgumentException.class);
    }

    // ------------------------------------------------------------------ CQ overflow

    @Test
    void anOverflowedCompletionQueueLosesNothing() throws Exception {
        try (Poller undriven = Poller.open(); Uring tiny = Uring.open(2, 2, undriven)) {
            assertThat(tiny.completionEntries()).isEqualTo(2);
            List<CompletableFuture<Completion>> nops = new ArrayList<>();
            for (int i = 0; i < 64; i++) nops.add(tiny.submit(new Uring.Nop(100 + i)));
            long doneBeforeReap = nops.stream().filter(CompletableFuture::isDone).count();

            int reaped = tiny.reap();

            assertThat(doneBeforeReap).as("nobody reaped yet").isLessThan(64);
            assertThat(reaped).isEqualTo((int) (64 - doneBeforeReap));
            for (int i = 0; i < 64; i++) {
                assertThat(nops.get(i)).as("NOP %d", i).isDone();
                assertThat(nops.get(i).join().cookie()).isEqualTo(100 + i);
                assertThat(nops.get(i).join().res()).isZero();
            }
            assertThat(tiny.inFlight()).isZero();
            assertThat(tiny.reap()).isZero();
        }
    }

    /**
     * Completions that overflow while the poller reaps: the kernel parks a completion that finds the CQ full and sets
     * IORING_SQ_CQ_OVERFLOW, but signals no registered eventfd for it (the CQ tail did not move). With an eventfd, a
     * reap that checked the flag just before the kernel set it left the completion parked for good (found by the
     * fuzz test; here it hung within about 3,000 rounds under load).
     */
    @Test
    void completionsOverflowingWhileThePollerReapsAllArrive() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> Linux.feature(Feature.IO_URING_FUTEX).cause());
        Futex futex = Futex.privateWord(Arena.ofAuto().allocate(JAVA_INT), 0);
        try (Uring tiny = Uring.open(1, 1, Poller.shared())) {
            for (int round = 0; round < 3 * Scale.raceIterations(); round++) {
                // One SQ slot: two enters, each completing inline; the second finds the one CQ slot full unless the
                // poller, woken by the first, has reaped it by then.
                List<CompletableFuture<Completion>> both = tiny.submitAll(List.of(
                        new Uring.FutexWake(futex, 1, 2L * round), new Uring.FutexWait(futex, 1, 2L * round + 1)));
                for (CompletableFuture<Completion> f : both) {
                    try {
                        f.get(5, TimeUnit.SECONDS);
                    } catch (TimeoutException e) {
                        throw new AssertionError("round " + round + ": a completion never arrived (inFlight " + tiny.inFlight() + ")", e);
                    }
                }
                assertThat(both.get(1).join().res()).as("the word is 0, not 1").isEqualTo(-Errno.EAGAIN);
            }
        }
    }

    // ------------------------------------------------------------------ close()

    @Test
    void closeWithOperationsInFlightFailsTheirFuturesAndReleasesEverything() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> Linux.feature(Feature.IO_URING_FUTEX).cause());
        int before = LeakGuard.openDescriptorCount();
        try (EventFd e = EventFd.open()) {
            Uring closing = Uring.open(8);
            Futex futex = Futex.privateWord(Arena.ofAuto().allocate(JAVA_INT), 0);
            List<CompletableFuture<?>> pending = List.of(
                    closing.awaitFutex(futex, 0),
                    closing.submit(new Uring.Timeout(Duration.ofHours(1), 1)),
                    closing.submit(new Uring.PollAdd(e, Poller.READABLE, false, 2)),
                    closing.submit(new Uring.PollAdd(e, Poller.READABLE, true, 3), c -> { }));
            assertThat(closing.inFlight()).isEqualTo(4);

            closing.close();

            assertThat(closing.inFlight()).isZero();
            for (CompletableFuture<?> f : pending) {
                assertThat(f).isCompletedExceptionally();
                assertThat(catchThrowable(f::join).getCause()).isInstanceOf(IOException.class).hasMessageContaining("Uring closed");
            }
            assertThat(futex.wake(1)).as("the kernel holds no waiter").isZero();
            assertThatThrownBy(() -> closing.submit(new Uring.Nop(4))).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> closing.submitAll(List.of(new Uring.Nop(4)))).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> closing.submitAll(List.of())).isInstanceOf(IllegalStateException.class);
            closing.close(); // idempotent
            assertThat(e.tryReadValue()).as("the EventFd is still usable").isZero();
        }
        assertThat(LeakGuard.openDescriptorCount()).as("ring, its eventfd and the EventFd closed").isEqualTo(before);
    }

    @Test
    void closingAPrivateRingOpensNoOtherRing() {
        Set<Integer> before = ioUringDescriptors();
        Uring.open(4).close();
        assertThat(ioUringDescriptors()).isEqualTo(before);
    }

    // ------------------------------------------------------------------ a poller driven by the caller

    @Test
    void aRingOnAPollerDrivenByTheTestThreadCompletesFuturesOnThatThread() throws Exception {
        try (Poller own = Poller.open(); Uring driven = Uring.open(4, own)) {
            AtomicReference<Thread> completedOn = new AtomicReference<>();
            CompletableFuture<Completion> timeout = driven.submit(new Uring.Timeout(Duration.ofMillis(20), 1));
            timeout.whenComplete((c, t) -> completedOn.set(Thread.currentThread()));

            // the kernel has posted the completion (the ring polls readable), yet the future waits for a poll
            assertThat(Syscalls.poll(driven.fd(), fdkit_h.POLLIN(), (int) TimeUnit.SECONDS.toMillis(WAIT_SECONDS))).as("completion posted").isEqualTo(1);
            assertThat(timeout).as("nobody reaps until the poller is polled").isNotDone();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
            while (!timeout.isDone() && System.nanoTime() < deadline) own.poll(Duration.ofSeconds(1));

            assertThat(timeout.join().res()).isEqualTo(-fdkit_h.ETIME());
            assertThat(completedOn.get()).isSameAs(Thread.currentThread());
        }
    }

    // ------------------------------------------------------------------ helpers

    private static Completion get(CompletableFuture<Completion> f) throws InterruptedException, ExecutionException, TimeoutException {
        return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    /** The io_uring descriptor {@code open} creates. */
    static int newRingDescriptor(Runnable open) {
        Set<Integer> before = ioUringDescriptors();
        open.run();
        Set<Integer> created = new HashSet<>(ioUringDescriptors());
        created.removeAll(before);
        assertThat(created).hasSize(1);
        return created.iterator().next();
    }

    private static Set<Integer> ioUringDescriptors() {
        return new HashSet<>(LeakGuard.descriptorsLinkingTo("anon_inode:[io_uring]"));
    }

    /** The submission queue tail the kernel reports in /proc/self/fdinfo (printed by io_uring since Linux 5.x). */
    static long sqTail(int ring) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + ring))) {
            if (line.startsWith("SqTail:")) return Long.parseLong(line.substring("SqTail:".length()).trim());
        }
        throw new AssertionError("no SqTail in fdinfo of io_uring fd " + ring);
    }
}
