package dev.fdkit;

import dev.fdkit.Futex.Clock;
import dev.fdkit.Futex.WaitResult;
import dev.fdkit.Futex.Woken;
import dev.fdkit.KernelThreads.Waiter;
import dev.fdkit.internal.linux.fdkit_h;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Futex against the real kernel, after the kernel's futex selftests
 * (tools/testing/selftests/futex/functional/): futex_wait_timeout.c, futex_wait_wouldblock.c, futex_wait.c,
 * futex_wait_private_mapped_file.c, futex_wait_uninitialized_heap.c, futex_requeue.c, futex_waitv.c.
 * <p>
 * Where the selftests sleep a fixed 10 ms before waking, these tests wake only once /proc shows the waiter
 * asleep in futex(2) on the word ({@link KernelThreads}), so a busy machine cannot make them flaky. Timing
 * assertions are lower bounds only.
 */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: /dev/urandom (opened for @TempDir names) and other JVM-lifetime state are baseline
@ExtendWith(LeakGuard.class)
@Timeout(60)
class FutexTest {
    private static final Duration SHORT = Duration.ofMillis(50);
    /** How long a waiter that is meant to be woken waits: only reached if the test fails. */
    private static final Duration LONG = Duration.ofSeconds(20);
    private static final int SYS_FUTEX = fdkit_h.SYS_futex();
    private static final int SYS_FUTEX_WAITV = fdkit_h.SYS_futex_waitv();
    private static final long PAGE = 4096;

    @TempDir
    Path dir;

    /** The kinds of memory a futex lives in (futex_wait.c: private, shared anonymous, shared file-backed). */
    enum Memory {
        /** Ordinary process memory, FUTEX_PRIVATE_FLAG. */
        PRIVATE_ARENA,
        /** MAP_SHARED|MAP_ANONYMOUS (shmem), shared futex: keyed by inode and offset, not by mm. */
        SHARED_ANONYMOUS,
        /** A file mapped READ_WRITE (MAP_SHARED), shared futex: keyed by the file's inode and page. */
        SHARED_FILE,
        /** A file mapped PRIVATE (copy-on-write), FUTEX_PRIVATE_FLAG: futex_wait_private_mapped_file.c. */
        PRIVATE_FILE;

        MemorySegment map(Arena arena, Path dir) throws IOException {
            return switch (this) {
                case PRIVATE_ARENA -> arena.allocate(PAGE, PAGE);
                case SHARED_ANONYMOUS -> AnonymousMemory.shared(arena, PAGE);
                case SHARED_FILE, PRIVATE_FILE -> {
                    Path file = Files.write(dir.resolve(name().toLowerCase()), new byte[(int) PAGE]);
                    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                        FileChannel.MapMode mode = this == SHARED_FILE ? FileChannel.MapMode.READ_WRITE : FileChannel.MapMode.PRIVATE;
                        yield channel.map(mode, 0, PAGE, arena);
                    }
                }
            };
        }

        Futex word(MemorySegment memory, long offset) {
            return this == SHARED_ANONYMOUS || this == SHARED_FILE ? Futex.sharedWord(memory, offset) : Futex.privateWord(memory, offset);
        }
    }

    // ------------------------------------------------------------------ futex_wait_timeout.c

    @ParameterizedTest
    @EnumSource(names = {"PRIVATE_ARENA", "SHARED_FILE"})
    void relativeTimeoutReturnsTimedOutNoSoonerThanTheTimeout(Memory kind) throws IOException {
        try (Arena arena = Arena.ofShared()) {
            Futex futex = kind.word(kind.map(arena, dir), 0);
            long start = System.nanoTime();
            assertThat(futex.await(0, SHORT)).isEqualTo(WaitResult.TIMED_OUT);
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(SHORT.toNanos());
        }
    }

    @Test
    void zeroTimeoutTimesOutAtOnce() {
        try (Arena arena = Arena.ofConfined()) {
            Futex futex = Futex.privateWord(arena.allocate(JAVA_INT), 0);
            assertThat(futex.await(0, Duration.ZERO)).isEqualTo(WaitResult.TIMED_OUT);
        }
    }

    @Test
    void absoluteMonotonicDeadlineFromNanoTimeTimesOutNoSoonerThanTheDeadline() {
        try (Arena arena = Arena.ofConfined()) {
            Futex futex = Futex.privateWord(arena.allocate(JAVA_INT), 0);
            long deadline = System.nanoTime() + SHORT.toNanos();
            assertThat(futex.awaitUntil(0, deadline, Clock.MONOTONIC)).isEqualTo(WaitResult.TIMED_OUT);
            // System.nanoTime() reads CLOCK_MONOTONIC on Linux: the kernel's clock for this deadline.
            assertThat(System.nanoTime()).isGreaterThanOrEqualTo(deadline);
        }
    }

    @Test
    void absoluteRealtimeDeadlineTimesOutNoSoonerThanTheDeadline() {
        try (Arena arena = Arena.ofConfined()) {
            Futex futex = Futex.sharedWord(AnonymousMemory.shared(arena, PAGE), 0);
            Instant deadline = Instant.now().plus(SHORT);
            assertThat(futex.awaitUntil(0, deadline)).isEqualTo(WaitResult.TIMED_OUT);
            assertThat(Instant.now()).isAfterOrEqualTo(deadline);
        }
    }

    /** Found by FutexFuzzTest: a null clock was taken for "no deadline", so a matching word waited for ever, past the deadline. */
    @Test
    void absoluteDeadlineWithoutAClockIsRejected() {
        try (Arena arena = Arena.ofConfined()) {
            Futex futex = Futex.privateWord(arena.allocate(JAVA_INT), 0);
            // 1, not the word's 0: without the check this returned VALUE_MISMATCH (and with 0 would never return)
            assertThatThrownBy(() -> futex.awaitUntil(1, System.nanoTime(), null)).isInstanceOf(NullPointerException.class).hasMessage("clock");
        }
    }

    @Test
    void deadlineAlreadyPassedTimesOutAtOnceOnBothClocks() {
        try (Arena arena = Arena.ofConfined()) {
            Futex futex = Futex.privateWord(arena.allocate(JAVA_INT), 0);
            long start = System.nanoTime();
            assertThat(futex.awaitUntil(0, System.nanoTime() - TimeUnit.SECONDS.toNanos(1), Clock.MONOTONIC)).isEqualTo(WaitResult.TIMED_OUT);
            assertThat(futex.awaitUntil(0, Instant.now().minusSeconds(1))).isEqualTo(WaitResult.TIMED_OUT);
            assertThat(futex.awaitUntil(0, 0, Clock.MONOTONIC)).isEqualTo(WaitResult.TIMED_OUT);
            assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(5));
        }
    }

    @Test
    void farFutureDeadlinesAndTimeoutsWaitUntilWoken() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            Futex futex = Futex.privateWord(arena.allocate(JAVA_INT), 0);
            List<java.util.concurrent.Callable<Object>> endless = List.of(
                    () -> futex.awaitUntil(0, Instant.MAX),
                    () -> futex.awaitUntil(0, Long.MAX_VALUE, Clock.MONOTONIC),
                    () -> futex.await(0, Duration.ofSeconds(Long.MAX_VALUE)),
                    () -> futex.await(0, Duration.ofNanos(Long.MAX_VALUE)),
                    () -> Futex.awaitAny(List.of(futex), new int[1], Duration.ofNanos(Long.MAX_VALUE)),
                    () -> Futex.awaitAny(List.of(futex), new int[1], Duration.ofSeconds(Long.MAX_VALUE)));
            for (int i = 0; i < endless.size(); i++) {
                Waiter<Object> waiter = Waiter.start("futex-waiter-" + i, endless.get(i));
                KernelThreads.awaitSleepingIn(waiter.tid(), i < 4 ? SYS_FUTEX : SYS_FUTEX_WAITV, i < 4 ? futex.word().address() : KernelThreads.ANY,
                        Duration.ofSeconds(10));
                assertThat(futex.wake(1)).as("wait %d", i).isEqualTo(1);
                assertThat(waiter.join(LONG)).as("wait %d", i).isIn(WaitResult.WOKEN, new Woken(WaitResult.WOKEN, 0));
            }
        }
    }

    @Test
    void bitsetWaitWithADeadlineTimesOut() {
        try (Arena arena = Arena.ofConfined()) {
            Futex futex = Futex.privateWord(arena.allocate(JAVA_INT), 0);
            long deadline = System.nanoTime() + SHORT.toNanos();
            assertThat(futex.awaitBitset(0, 0b1, deadline, Clock.MONOTONIC)).isEqualTo(WaitResult.TIMED_OUT);
            assertThat(System.nanoTime()).isGreaterThanOrEqualTo(deadline);
        }
    }

    @Test
    void waitvTimesOutNoSoonerThanTheTimeout() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(PAGE, PAGE);
            List<Futex> futexes = List.of(Futex.privateWord(memory, 0), Futex.privateWord(memory, 4));
            long start = System.nanoTime();
            assertThat(Futex.awaitAny(futexes, new int[2], SHORT)).isEqualTo(new Woken(WaitResult.TIMED_OUT, -1));
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(SHORT.toNanos());
        }
    }

    // ------------------------------------------------------------------ futex_wait_wouldblock.c

    @ParameterizedTest
    @EnumSource(names = {"PRIVATE_ARENA", "SHARED_ANONYMOUS"})
    void everyWaitReturnsValueMismatchAtOnceWhenTheWordDiffers(Memory kind) throws IOException {
        try (Arena arena = Arena.ofShared()) {
            Futex futex = kind.word(kind.map(arena, dir), 0);
            futex.set(1);
            long start = System.nanoTime();
            assertThat(futex.await(0)).isEqualTo(WaitResult.VALUE_MISMATCH);
            assertThat(futex.await(0, LONG)).isEqualTo(WaitResult.VALUE_MISMATCH);
            assertThat(futex.awaitUntil(0, System.nanoTime() + LONG.toNanos(), Clock.MONOTONIC)).isEqualTo(WaitResult.VALUE_MISMATCH);
            assertThat(futex.awaitUntil(0, Instant.now().plus(LONG))).isEqualTo(WaitResult.VALUE_MISMATCH);
            assertThat(futex.awaitBitset(0, 0b1, 0, null)).isEqualTo(WaitResult.VALUE_MISMATCH);
            assertThat(System.nanoTime() - start).as("mismatches return without waiting").isLessThan(LONG.toNanos() / 2);
        }
    }

    @Test
    void waitvReturnsValueMismatchWhenAnyWordDiffers() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(PAGE, PAGE);
            List<Futex> futexes = new ArrayList<>();
            for (int i = 0; i < 30; i++) futexes.add(Futex.privateWord(memory, 4L * i));
            futexes.get(17).set(5);
            long start = System.nanoTime();
            assertThat(Futex.awaitAny(futexes, new int[30], LONG)).isEqualTo(new Woken(WaitResult.VALUE_MISMATCH, -1));
            assertThat(System.nanoTime() - start).isLessThan(LONG.toNanos() / 2);
        }
    }

    @Test
    void waitvComparesNegativeExpectedValuesAsUnsigned32BitWords() {
        // futex_waitv takes a u64 val and rejects (EINVAL) bits above the futex size: -1 must go as 0xffffffff.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(PAGE, PAGE);
            List<Futex> futexes = List.of(Futex.privateWord(memory, 0), Futex.privateWord(memory, 4));
            futexes.forEach(f -> f.set(-1));
            assertThat(Futex.awaitAny(futexes, new int[] {-1, Integer.MIN_VALUE}, SHORT)).isEqualTo(new Woken(WaitResult.VALUE_MISMATCH, -1));
            futexes.get(1).set(Integer.MIN_VALUE);
            assertThat(Futex.awaitAny(futexes, new int[] {-1, Integer.MIN_VALUE}, SHORT)).isEqualTo(new Woken(WaitResult.TIMED_OUT, -1));
        }
    }

    // ------------------------------------------------------------------ futex_wait.c, futex_wait_private_mapped_file.c

    @ParameterizedTest
    @EnumSource(Memory.class)
    void waiterIsWokenByWakeOnTheSameWord(Memory kind) throws Exception {
        try (Arena arena = Arena.ofShared()) {
            Futex futex = kind.word(kind.map(arena, dir), 128);
            Waiter<WaitResult> waiter = Waiter.start("futex-waiter", () -> futex.await(0, LONG))
                    .awaitSleepingIn(SYS_FUTEX, futex.word().address());
            futex.set(1);
            assertThat(futex.wake(1)).isEqualTo(1);
            assertThat(waiter.join(LONG)).isEqualTo(WaitResult.WOKEN);
            assertThat(futex.wake(1)).as("nobody waits any more").isZero();
        }
    }

    @Test
    void wakeAllWakesEveryWaiterAndReportsHowMany() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            Futex futex = Futex.privateWord(arena.allocate(JAVA_INT), 0);
            List<Waiter<WaitResult>> waiters = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                waiters.add(Waiter.start("futex-waiter-" + i, () -> futex.await(0, LONG)).awaitSleepingIn(SYS_FUTEX, futex.word().address()));
            }
            assertThat(futex.wakeAll()).isEqualTo(5);
            for (Waiter<WaitResult> w : waiters) assertThat(w.join(LONG)).isEqualTo(WaitResult.WOKEN);
        }
    }

    @Test
    void privateAndSharedFlavoursOfOneWordAreDifferentFutexes() throws Exception {
        // A shared wake does not reach a private waiter on the same address (different futex keys), which
        // is why both sides of an IPC futex must use sharedWord.
        try (Arena arena = Arena.ofShared()) {
            MemorySegment memory = AnonymousMemory.shared(arena, PAGE);
            Futex privateView = Futex.privateWord(memory, 0);
            Futex sharedView = Futex.sharedWord(memory, 0);
            Waiter<WaitResult> waiter = Waiter.start("futex-waiter", () -> privateView.await(0, LONG))
                    .awaitSleepingIn(SYS_FUTEX, memory.address());
            assertThat(sharedView.wake(1)).isZero();
            assertThat(privateView.wake(1)).isEqualTo(1);
            assertThat(waiter.join(LONG)).isEqualTo(WaitResult.WOKEN);
        }
    }

    // ------------------------------------------------------------------ futex_wait_uninitialized_heap.c

    @Test
    void waitOnAFreshlyMappedUntouchedPageTimesOutOrMismatchesCorrectly() {
        // The kernel faults the zero page in to read the word; no EFAULT, no spurious wake.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pages = AnonymousMemory.freshPrivate(arena, 2 * PAGE);
            long start = System.nanoTime();
            assertThat(Futex.privateWord(pages, 0).await(0, SHORT)).isEqualTo(WaitResult.TIMED_OUT);
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(SHORT.toNanos());
            assertThat(Futex.privateWord(pages, PAGE).await(1, SHORT)).isEqualTo(WaitResult.VALUE_MISMATCH);
        }
    }

    @Test
    void waitOnAFreshSharedAnonymousPageTimesOut() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment page = AnonymousMemory.shared(arena, PAGE);
            assertThat(Futex.sharedWord(page, PAGE - 4).await(0, SHORT)).isEqualTo(WaitResult.TIMED_OUT);
        }
    }

    // ------------------------------------------------------------------ futex_requeue.c

    @ParameterizedTest
    @EnumSource(names = {"PRIVATE_ARENA", "SHARED_ANONYMOUS", "SHARED_FILE"})
    void requeueOfOneWaiterMovesItToTheTargetWhereAWakeReachesIt(Memory kind) throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment memory = kind.map(arena, dir);
            Futex f1 = kind.word(memory, 0);
            Futex f2 = kind.word(memory, 64);
            Waiter<WaitResult> waiter = Waiter.start("futex-waiter", () -> f1.await(0, LONG)).awaitSleepingIn(SYS_FUTEX, f1.word().address());
            assertThat(f1.requeue(0, 0, 1, f2)).as("woken 0 + requeued 1").isEqualTo(1);
            assertThat(f1.wake(1)).as("no waiter left on f1").isZero();
            assertThat(waiter.result).isNotDone();
            assertThat(f2.wake(1)).isEqualTo(1);
            assertThat(waiter.join(LONG)).isEqualTo(WaitResult.WOKEN);
        }
    }

    @Test
    void requeueOfTenWaitersWakesThreeMovesSevenAndAWakeOnTheTargetReachesTheSeven() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment memory = arena.allocate(PAGE, PAGE);
            Futex f1 = Futex.privateWord(memory, 0);
            Futex f2 = Futex.privateWord(memory, 64);
            List<Waiter<WaitResult>> waiters = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                waiters.add(Waiter.start("futex-waiter-" + i, () -> f1.await(0, LONG)).awaitSleepingIn(SYS_FUTEX, f1.word().address()));
            }
            assertThat(f1.requeue(0, 3, 7, f2)).as("woken 3 + requeued 7").isEqualTo(10);
            assertThat(f2.wake(7)).isEqualTo(7);
            for (Waiter<WaitResult> w : waiters) assertThat(w.join(LONG)).isEqualTo(WaitResult.WOKEN);
            assertThat(f1.wake(1)).isZero();
            assertThat(f2.wake(1)).isZero();
        }
    }

    @Test
    void requeueWithAStaleExpectedValueDoesNothingAndReturnsMinusOne() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment memory = arena.allocate(PAGE, PAGE);
            Futex f1 = Futex.privateWord(memory, 0);
            Futex f2 = Futex.privateWord(memory, 64);
            Waiter<WaitResult> waiter = Waiter.start("futex-waiter", () -> f1.await(0, LONG)).awaitSleepingIn(SYS_FUTEX, f1.word().address());
            assertThat(f1.requeue(1, 1, 1, f2)).isEqualTo(-1);
            assertThat(f2.wake(1)).as("nothing was requeued").isZero();
            assertThat(f1.wake(1)).as("nothing was woken").isEqualTo(1);
            assertThat(waiter.join(LONG)).isEqualTo(WaitResult.WOKEN);
        }
    }

    // ------------------------------------------------------------------ futex_waitv.c

    @ParameterizedTest
    @EnumSource(Memory.class)
    void waitvOnThirtyWordsReportsIndexTwentyNineWhenTheLastIsWoken(Memory kind) throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment memory = kind.map(arena, dir);
            List<Futex> futexes = new ArrayList<>();
            for (int i = 0; i < 30; i++) futexes.add(kind.word(memory, 4L * i));
            Waiter<Woken> waiter = Waiter.start("futex-waitv", () -> Futex.awaitAny(futexes, new int[30], LONG))
                    .awaitSleepingIn(SYS_FUTEX_WAITV, KernelThreads.ANY);
            assertThat(futexes.get(29).wake(1)).isEqualTo(1);
            assertThat(waiter.join(LONG)).isEqualTo(new Woken(WaitResult.WOKEN, 29));
        }
    }

    @Test
    void waitvMixesPrivateAndSharedWordsAndNamesTheOneWoken() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            List<Futex> futexes = List.of(Futex.privateWord(arena.allocate(JAVA_INT), 0), Futex.sharedWord(AnonymousMemory.shared(arena, PAGE), 0));
            Waiter<Woken> waiter = Waiter.start("futex-waitv", () -> Futex.awaitAny(futexes, new int[2], null))
                    .awaitSleepingIn(SYS_FUTEX_WAITV, KernelThreads.ANY);
            assertThat(futexes.get(1).wake(1)).isEqualTo(1);
            assertThat(waiter.join(LONG)).isEqualTo(new Woken(WaitResult.WOKEN, 1));
        }
    }

    @Test
    void waitvAcceptsExactlyOneHundredTwentyEightWords() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment memory = arena.allocate(PAGE, PAGE);
            List<Futex> futexes = new ArrayList<>();
            for (int i = 0; i < Futex.MAX_WAITERS; i++) futexes.add(Futex.privateWord(memory, 4L * i));
            assertThat(Futex.MAX_WAITERS).isEqualTo(128);
            Waiter<Woken> waiter = Waiter.start("futex-waitv", () -> Futex.awaitAny(futexes, new int[128], LONG))
                    .awaitSleepingIn(SYS_FUTEX_WAITV, KernelThreads.ANY);
            assertThat(futexes.get(64).wake(1)).isEqualTo(1);
            assertThat(waiter.join(LONG)).isEqualTo(new Woken(WaitResult.WOKEN, 64));
        }
    }

    // ------------------------------------------------------------------ bitsets

    @Test
    void bitsetWaiterIsWokenOnlyByAWakeWithAMatchingBit() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            Futex futex = Futex.privateWord(arena.allocate(JAVA_INT), 0);
            long deadline = System.nanoTime() + LONG.toNanos();
            Waiter<WaitResult> waiter = Waiter.start("futex-bitset", () -> futex.awaitBitset(0, 0b0101, deadline, Clock.MONOTONIC))
                    .awaitSleepingIn(SYS_FUTEX, futex.word().address());
            assertThat(futex.wakeBitset(1, 0b1010)).isZero();
            assertThat(waiter.result).isNotDone();
            assertThat(futex.wakeBitset(1, 0b0100)).isEqualTo(1);
            assertThat(waiter.join(LONG)).isEqualTo(WaitResult.WOKEN);
        }
    }

    @Test
    void bitsetWaiterWithoutDeadlineIsWokenByAPlainWake() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            Futex futex = Futex.privateWord(arena.allocate(JAVA_INT), 0);
            Waiter<WaitResult> waiter = Waiter.start("futex-bitset", () -> futex.awaitBitset(0, 0b1000, 0, null))
                    .awaitSleepingIn(SYS_FUTEX, futex.word().address());
            assertThat(futex.wake(1)).as("FUTEX_WAKE matches any bitset").isEqualTo(1);
            assertThat(waiter.join(LONG)).isEqualTo(WaitResult.WOKEN);
        }
    }

    // ------------------------------------------------------------------ arena lifetime

    @Test
    void closingTheArenaWhileAThreadWaitsOnItFailsInTheCloserUntilTheWaiterIsWoken() throws Exception {
        Arena arena = Arena.ofShared();
        MemorySegment memory = arena.allocate(JAVA_INT);
        Futex futex = Futex.privateWord(memory, 0);
        Waiter<WaitResult> waiter = Waiter.start("futex-waiter", () -> futex.await(0, LONG)).awaitSleepingIn(SYS_FUTEX, memory.address());
        // The word is passed to the downcall as a segment: the FFM holds its scope for the call's duration.
        assertThatThrownBy(arena::close).isInstanceOf(IllegalStateException.class);
        assertThat(memory.scope().isAlive()).isTrue();
        futex.set(1);
        assertThat(futex.wake(1)).isEqualTo(1);
        assertThat(waiter.join(LONG)).isEqualTo(WaitResult.WOKEN);
        arena.close();
        assertThat(memory.scope().isAlive()).isFalse();
    }

    @Test
    void usingAFutexAfterItsArenaClosedThrowsIllegalStateException() {
        Arena arena = Arena.ofShared();
        Futex futex = Futex.privateWord(arena.allocate(JAVA_INT), 0);
        Futex other = Futex.privateWord(arena.allocate(JAVA_INT), 0);
        arena.close();
        assertThatThrownBy(() -> futex.await(0, SHORT)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> futex.wake(1)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(futex::get).isInstanceOf(IllegalStateException.class);
        try (Arena live = Arena.ofConfined()) {
            List<Futex> futexes = List.of(Futex.privateWord(live.allocate(JAVA_INT), 0), other);
            assertThatThrownBy(() -> Futex.awaitAny(futexes, new int[2], SHORT))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("futexes[1]").hasNoCause();
        }
    }

    // ------------------------------------------------------------------ bad input, rejected before any syscall

    @Test
    void misalignedWordIsRejectedNamingTheAlignment() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(16, 8);
            for (long offset : new long[] {1, 2, 3, 5}) {
                assertThatThrownBy(() -> Futex.privateWord(memory, offset)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("4-byte aligned").hasMessageContaining("offset " + offset).hasNoCause(); // the argument, by name (fuzzing)
            }
            assertThatThrownBy(() -> Futex.sharedWord(memory.asSlice(2), 0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("4-byte aligned");
        }
    }

    @Test
    void wordNotInsideTheSegmentIsRejectedNamingTheOffset() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(16, 8);
            for (long offset : new long[] {13, 16, 20, -4, Long.MIN_VALUE, Long.MAX_VALUE}) {
                assertThatThrownBy(() -> Futex.privateWord(memory, offset)).as("offset %d", offset)
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("offset").hasNoCause();
            }
            MemorySegment tooShort = memory.asSlice(0, 2);
            assertThatThrownBy(() -> Futex.privateWord(tooShort, 0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("offset").hasMessageContaining("2 bytes");
            assertThatThrownBy(() -> Futex.sharedWord(MemorySegment.NULL, 0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("offset");
        }
    }

    @Test
    void readOnlySegmentIsRejected() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment readOnly = arena.allocate(JAVA_INT).asReadOnly();
            assertThatThrownBy(() -> Futex.privateWord(readOnly, 0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("memory").hasMessageContaining("read-only");
        }
    }

    @Test
    void heapSegmentIsRejected() {
        MemorySegment heap = MemorySegment.ofArray(new int[4]);
        assertThatThrownBy(() -> Futex.privateWord(heap, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("memory").hasMessageContaining("native");
        assertThatThrownBy(() -> Futex.sharedWord(heap, 4)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("native");
    }

    @Test
    void segmentOfAClosedArenaIsRejected() {
        Arena arena = Arena.ofConfined();
        MemorySegment memory = arena.allocate(JAVA_INT);
        arena.close();
        assertThatThrownBy(() -> Futex.privateWord(memory, 0)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("memory").hasMessageContaining("closed");
    }

    @Test
    void nullArgumentsAreRejectedByName() {
        assertThatThrownBy(() -> Futex.privateWord(null, 0)).isInstanceOf(NullPointerException.class).hasMessageContaining("memory");
        try (Arena arena = Arena.ofConfined()) {
            Futex futex = Futex.privateWord(arena.allocate(JAVA_INT), 0);
            assertThatThrownBy(() -> futex.await(0, null)).isInstanceOf(NullPointerException.class).hasMessageContaining("timeout");
            assertThatThrownBy(() -> futex.awaitUntil(0, null)).isInstanceOf(NullPointerException.class).hasMessageContaining("deadline");
            assertThatThrownBy(() -> futex.requeue(0, 1, 1, null)).isInstanceOf(NullPointerException.class).hasMessageContaining("target");
            assertThatThrownBy(() -> Futex.awaitAny(null, new int[1], SHORT)).isInstanceOf(NullPointerException.class).hasMessageContaining("futexes");
            assertThatThrownBy(() -> Futex.awaitAny(List.of(futex), null, SHORT)).isInstanceOf(NullPointerException.class).hasMessageContaining("expected");
            assertThatThrownBy(() -> Futex.awaitAny(Arrays.asList(futex, null), new int[2], SHORT)).isInstanceOf(NullPointerException.class)
                    .hasMessageContaining("futexes[1]");
        }
    }

    @Test
    void negativeTimeoutsDoNotWaitAndNegativeDeadlinesAreRejected() {
        try (Arena arena = Arena.ofConfined()) {
            Futex futex = Futex.privateWord(arena.allocate(JAVA_INT), 0);
            // fdkit's one rule for timeouts (README): negative means "do not wait", as zero.
            assertThat(futex.await(0, Duration.ofNanos(-1))).isEqualTo(WaitResult.TIMED_OUT);
            assertThat(futex.await(1, Duration.ofDays(-1))).isEqualTo(WaitResult.VALUE_MISMATCH);
            if (Linux.has(Feature.FUTEX_WAITV)) {
                assertThat(Futex.awaitAny(List.of(futex), new int[1], Duration.ofMillis(-1))).isEqualTo(new Woken(WaitResult.TIMED_OUT, -1));
            }
            // A deadline is a point in time, not a timeout: a negative one names no instant on the clock.
            assertThatThrownBy(() -> futex.awaitUntil(0, -1, Clock.MONOTONIC)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("deadlineNanos");
            // The Instant overload names its own argument, not the nanoseconds it converts it to.
            assertThatThrownBy(() -> futex.awaitUntil(0, Instant.ofEpochSecond(-1))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("deadline must not be before the epoch, was 1969-12-31T23:59:59Z");
            assertThatThrownBy(() -> futex.awaitUntil(0, Instant.EPOCH.minusNanos(1))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("deadline must not be before the epoch");
            assertThatThrownBy(() -> futex.awaitUntil(0, Instant.MIN)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("deadline must not be before the epoch");
        }
    }

    @Test
    void waitvWithMoreThan128OrNoWordsOrAMismatchedExpectedArrayIsRejected() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(PAGE, PAGE);
            List<Futex> tooMany = new ArrayList<>();
            for (int i = 0; i < 129; i++) tooMany.add(Futex.privateWord(memory, 4L * i));
            assertThatThrownBy(() -> Futex.awaitAny(tooMany, new int[129], SHORT)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("futexes").hasMessageContaining("128").hasMessageContaining("129");
            assertThatThrownBy(() -> Futex.awaitAny(Collections.emptyList(), new int[0], SHORT)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("futexes");
            assertThatThrownBy(() -> Futex.awaitAny(tooMany.subList(0, 3), new int[2], SHORT)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("expected").hasMessageContaining("2 values for 3 futexes");
        }
    }

    @Test
    void zeroBitsetsAndCountsBelowOneAreRejected() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(PAGE, PAGE);
            Futex futex = Futex.privateWord(memory, 0);
            assertThatThrownBy(() -> futex.awaitBitset(0, 0, 0, null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bitset");
            assertThatThrownBy(() -> futex.wakeBitset(1, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bitset");
            assertThatThrownBy(() -> futex.wake(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("count");
            assertThatThrownBy(() -> futex.wakeBitset(-1, 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("count");
            assertThatThrownBy(() -> futex.requeue(0, -1, 1, Futex.privateWord(memory, 4))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("wakeCount");
            assertThatThrownBy(() -> futex.requeue(0, 1, 1, Futex.sharedWord(memory, 4))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("target");
        }
    }

    // ------------------------------------------------------------------ two JVMs

    @Test
    void wakesAWaiterInAnotherJvmThroughAMappedFile() throws Exception {
        Path file = dir.resolve("futex-peer.map");
        try (Arena arena = Arena.ofShared();
             FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment memory = channel.map(FileChannel.MapMode.READ_WRITE, 0, FutexPeer.FILE_SIZE, arena);
            Futex word = Futex.sharedWord(memory, FutexPeer.WORD);
            Futex ready = Futex.sharedWord(memory, FutexPeer.READY);
            ChildJvm child = ChildJvm.start(FutexPeer.class, dir.resolve("futex-peer.log"), file.toString(), "30");
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                // The child wakes us on READY: a cross-process wake in the other direction.
                while (ready.get() == 0) {
                    assertThat(child.process.isAlive()).as("child alive; output: %s", child.output()).isTrue();
                    assertThat(System.nanoTime()).as("child ready in time").isLessThan(deadline);
                    ready.await(0, Duration.ofMillis(100));
                }
                // Only the child waits on WORD: a wake that reports 1 reached it in the other JVM.
                boolean wokeIt = Processes.awaitCondition(Duration.ofNanos(deadline - System.nanoTime()),
                        () -> word.wake(1) != 0 || !child.process.isAlive());
                assertThat(child.process.isAlive()).as("child alive; output: %s", child.output()).isTrue();
                assertThat(wokeIt).as("child waiting on the word in time").isTrue();
                word.set(FutexPeer.NEW_VALUE);
                word.wakeAll();
                assertThat(child.process.waitFor(30, TimeUnit.SECONDS)).as("child exited; output: %s", child.output()).isTrue();
                assertThat(child.process.exitValue()).as("child exit status; output: %s", child.output()).isZero();
                assertThat(memory.get(JAVA_INT, FutexPeer.WOKEN)).as("waits the child saw end WOKEN").isGreaterThanOrEqualTo(1);
            } finally {
                child.destroy();
            }
        }
    }
}
