package dev.fdkit;

import dev.fdkit.internal.linux.fdkit_h;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * EventFd against the real kernel. The first scenarios follow the kernel's eventfd selftests
 * (tools/testing/selftests/filesystems/eventfd): flags through fdinfo, 100,000 writes then one read,
 * semaphore reads, overflow.
 */
@ExtendWith(LeakGuard.class)
@Timeout(60)
class EventFdTest {
    private static final int ITERATIONS = 100_000;
    private static final Duration WAIT = Duration.ofSeconds(10);

    // ------------------------------------------------------------------ kernel selftest scenarios

    @Test
    void counterModeDescriptorIsCloseOnExecAndNonBlockingAsFdinfoShows() throws IOException {
        try (EventFd e = EventFd.open()) {
            Map<String, String> info = fdinfo(e.fd());
            int flags = Integer.parseInt(info.get("flags"), 8);
            // The kernel asserts EFD_CLOEXEC == O_CLOEXEC and EFD_NONBLOCK == O_NONBLOCK (BUILD_BUG_ON).
            assertThat(flags & fdkit_h.O_CLOEXEC()).as("O_CLOEXEC in fdinfo flags 0%o", flags).isNotZero();
            assertThat(flags & fdkit_h.O_NONBLOCK()).as("O_NONBLOCK in fdinfo flags 0%o", flags).isNotZero();
            assertThat(flags & fdkit_h.O_RDWR()).as("O_RDWR in fdinfo flags 0%o", flags).isNotZero();
            assertThat(Long.parseLong(info.get("eventfd-count"), 16)).isZero();
            if (info.containsKey("eventfd-semaphore")) { // printed since Linux 6.6
                assertThat(info.get("eventfd-semaphore")).isEqualTo("0");
            }
            assertThat(e.isSemaphore()).isFalse();
        }
    }

    @Test
    void semaphoreModeDescriptorIsCloseOnExecAndReportsSemaphoreInFdinfo() throws IOException {
        try (EventFd e = EventFd.openSemaphore()) {
            Map<String, String> info = fdinfo(e.fd());
            int flags = Integer.parseInt(info.get("flags"), 8);
            assertThat(flags & fdkit_h.O_CLOEXEC()).isNotZero();
            assertThat(flags & fdkit_h.O_NONBLOCK()).isNotZero();
            if (info.containsKey("eventfd-semaphore")) {
                assertThat(info.get("eventfd-semaphore")).isEqualTo("1");
            }
            assertThat(e.isSemaphore()).isTrue();
        }
    }

    @Test
    void signalledValueIsWhatTheKernelCounterHolds() throws IOException {
        try (EventFd e = EventFd.open()) {
            assertThat(e.trySignal(0x1234_5678_9abcL)).isTrue();
            assertThat(Long.parseLong(fdinfo(e.fd()).get("eventfd-count"), 16)).isEqualTo(0x1234_5678_9abcL);
            assertThat(e.tryRead()).hasValue(0x1234_5678_9abcL);
            assertThat(Long.parseLong(fdinfo(e.fd()).get("eventfd-count"), 16)).isZero();
        }
    }

    @Test
    void hundredThousandSignalsOfOneAreReadAsOneValue() throws InterruptedException {
        try (EventFd e = EventFd.open()) {
            for (int i = 0; i < ITERATIONS; i++) e.signal(1);
            assertThat(e.read()).isEqualTo(ITERATIONS);
            assertThat(e.tryRead()).isEmpty();
            assertThat(e.tryReadValue()).isZero();
        }
    }

    @Test
    void semaphoreModeReturnsOnePerReadUntilTheCountIsUsedUp() throws InterruptedException {
        try (EventFd e = EventFd.openSemaphore()) {
            for (int i = 0; i < ITERATIONS; i++) e.signal(1);
            for (int i = 0; i < ITERATIONS; i++) {
                long value = e.read();
                if (value != 1) throw new AssertionError("read " + i + " returned " + value);
            }
            assertThat(e.tryRead()).isEmpty();
        }
    }

    @Test
    void semaphoreModeHandsOutOneAtATimeFromALargeSignal() throws InterruptedException {
        try (EventFd e = EventFd.openSemaphore()) {
            e.signal(3);
            assertThat(e.tryRead()).hasValue(1);
            assertThat(e.read()).isEqualTo(1);
            assertThat(e.tryRead()).hasValue(1);
            assertThat(e.tryRead()).isEmpty();
        }
    }

    @Test
    void counterStopsAtTwoToTheSixtyFourMinusTwo() {
        try (EventFd e = EventFd.open()) {
            assertThat(e.trySignal(Long.MAX_VALUE)).isTrue();
            assertThat(e.trySignal(Long.MAX_VALUE)).isTrue(); // 2 * (2^63 - 1) = 2^64 - 2, the maximum
            assertThat(e.trySignal(1)).as("one more would overflow").isFalse();
            OptionalLong value = e.tryRead();
            assertThat(value).hasValue(EventFd.MAX_COUNT);
            assertThat(Long.toUnsignedString(value.getAsLong())).isEqualTo("18446744073709551614");
            assertThat(e.tryRead()).isEmpty();
        }
    }

    @Test
    void failedTrySignalLeavesTheCounterUnchanged() {
        try (EventFd e = EventFd.open()) {
            assertThat(e.trySignal(Long.MAX_VALUE)).isTrue();
            assertThat(e.trySignal(Long.MAX_VALUE - 1)).isTrue(); // 2^64 - 3
            assertThat(e.trySignal(2)).isFalse();
            assertThat(e.trySignal(1)).isTrue();
            assertThat(e.tryRead()).hasValue(EventFd.MAX_COUNT);
        }
    }

    @Test
    void signalThatWouldOverflowWaitsUntilAReadMakesRoom() throws Exception {
        try (EventFd e = EventFd.open()) {
            e.signal(Long.MAX_VALUE);
            e.signal(Long.MAX_VALUE);
            CompletableFuture<Void> signalled = new CompletableFuture<>();
            Thread writer = Thread.ofPlatform().name("overflowing-writer").start(() -> {
                try {
                    e.signal(1);
                    signalled.complete(null);
                } catch (Throwable t) {
                    signalled.completeExceptionally(t);
                }
            });
            Processes.awaitParked(writer);
            assertThat(signalled).as("signal(1) on a full counter must wait").isNotDone();
            assertThat(e.read()).isEqualTo(EventFd.MAX_COUNT);
            assertThat(signalled).succeedsWithin(WAIT);
            writer.join();
            assertThat(e.read()).isEqualTo(1);
        }
    }

    /** A thread of {@code kind} parked in read() on the empty counter; what its read throws goes to {@code outcome}. */
    private static Thread readerBlockedOnAnEmptyCounter(EventFd e, Thread.Builder kind, AtomicReference<Throwable> outcome) throws Exception {
        Thread reader = kind.start(() -> {
            try {
                e.read();
            } catch (Throwable t) {
                outcome.set(t);
            }
        });
        Processes.awaitParked(reader);
        return reader;
    }

    /** Fills the counter, then a platform thread signals 1 and parks for room; what its signal throws goes to {@code outcome}. */
    private static Thread writerBlockedOnAFullCounter(EventFd e, AtomicReference<Throwable> outcome) throws Exception {
        e.signal(Long.MAX_VALUE);
        e.signal(Long.MAX_VALUE);
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                e.signal(1);
            } catch (Throwable t) {
                outcome.set(t);
            }
        });
        Processes.awaitParked(writer);
        return writer;
    }

    @Test
    void interruptedSignalOnAFullCounterThrowsAndChangesNothing() throws Exception {
        try (EventFd e = EventFd.open()) {
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            Thread writer = writerBlockedOnAFullCounter(e, outcome);
            writer.interrupt();
            writer.join(WAIT.toMillis());
            assertThat(outcome.get()).isInstanceOf(InterruptedException.class);
            assertThat(e.tryRead()).hasValue(EventFd.MAX_COUNT);
            assertThat(e.tryRead()).isEmpty();
        }
    }

    // ------------------------------------------------------------------ arguments and lifetime

    @Test
    void zeroNegativeAndTwoToTheSixtyFourMinusOneAreRejectedNamingTheArgument() {
        try (EventFd e = EventFd.open()) {
            for (long bad : new long[] {0, -1 /* 2^64 - 1 */, -2, Long.MIN_VALUE}) {
                assertThatThrownBy(() -> e.signal(bad)).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("n ");
                assertThatThrownBy(() -> e.trySignal(bad)).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("n ");
            }
            assertThat(e.tryRead()).as("rejected signals change nothing").isEmpty();
        }
    }

    @Test
    void everyMethodFailsWithIllegalStateAfterClose() {
        EventFd e = EventFd.open();
        e.close();
        assertThatThrownBy(() -> e.signal(1)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> e.trySignal(1)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(e::read).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(e::tryRead).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(e::tryReadValue).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(e::readAsync).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(e::fd).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThat(e.toString()).contains("closed");
    }

    /**
     * Found by CloseRaceTest: with a future queued, readAsync() after close() queued (and failed) one more
     * instead of throwing, so close() draining the queue and a thread calling readAsync() in a loop kept each
     * other busy for ever.
     */
    @Test
    void closeReturnsWhileOtherThreadsKeepCallingReadAsync() throws Exception {
        EventFd e = EventFd.open();
        CompletableFuture<Long> queued = e.readAsync(); // from now on readAsync() queues without reading
        List<CompletableFuture<Throwable>> callers = new ArrayList<>();
        List<Thread> loops = new ArrayList<>();
        for (int i = 0; i < 2; i++) { // two callers queue faster than close() drains
            CompletableFuture<Throwable> caller = new CompletableFuture<>();
            callers.add(caller);
            loops.add(Thread.ofPlatform().name("readAsync-loop-" + i).start(() -> {
                try {
                    for (;;) e.readAsync();
                } catch (Throwable t) {
                    caller.complete(t);
                }
            }));
        }
        CompletableFuture<Void> closing = CompletableFuture.runAsync(e::close, r -> Thread.ofPlatform().name("closer").start(r));
        try {
            closing.get(10, TimeUnit.SECONDS);
            for (CompletableFuture<Throwable> caller : callers) {
                assertThat(caller.get(10, TimeUnit.SECONDS)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            }
            assertThatThrownBy(() -> queued.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(IOException.class);
        } finally {
            for (Thread loop : loops) loop.join(10_000);
        }
    }

    @Test
    void closeIsIdempotent() {
        EventFd e = EventFd.open();
        e.close();
        assertThatCode(e::close).doesNotThrowAnyException();
        assertThatCode(e::close).doesNotThrowAnyException();
    }

    @Test
    void closedDescriptorNumberIsNotTouchedWhenTheKernelReusesIt() {
        EventFd first = EventFd.open();
        int number = first.fd();
        first.close();
        try (EventFd second = EventFd.open()) {
            assertThat(second.fd()).as("the kernel hands out the lowest free number").isEqualTo(number);
            assertThatThrownBy(() -> first.trySignal(1)).isInstanceOf(IllegalStateException.class);
            assertThat(second.tryRead()).as("the old object must not write into the new descriptor").isEmpty();
        }
    }

    // ------------------------------------------------------------------ blocking and asynchronous reads

    @Test
    void readBlocksUntilAnotherThreadSignals() throws Exception {
        try (EventFd e = EventFd.open()) {
            blockingReadSeesSignal(e, Thread.ofPlatform().name("platform-reader").factory()::newThread);
        }
    }

    @Test
    void readOnAVirtualThreadBlocksUntilAnotherThreadSignals() throws Exception {
        try (EventFd e = EventFd.open()) {
            blockingReadSeesSignal(e, Thread.ofVirtual().name("virtual-reader").factory()::newThread);
        }
    }

    private static void blockingReadSeesSignal(EventFd e, java.util.function.Function<Runnable, Thread> threads) throws Exception {
        CompletableFuture<Long> result = new CompletableFuture<>();
        Thread reader = threads.apply(() -> {
            try {
                result.complete(e.read());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        reader.start();
        Processes.awaitParked(reader);
        assertThat(result).isNotDone();
        e.signal(7);
        assertThat(result).succeedsWithin(WAIT).isEqualTo(7L);
        reader.join();
        assertThat(e.tryRead()).isEmpty();
    }

    @Test
    void interruptedReadThrowsAndConsumesNothing() throws Exception {
        try (EventFd e = EventFd.open()) {
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            Thread reader = Thread.ofPlatform().start(() -> {
                try {
                    e.read();
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            Processes.awaitParked(reader);
            reader.interrupt();
            reader.join(WAIT.toMillis());
            assertThat(outcome.get()).isInstanceOf(InterruptedException.class);
            e.signal(4);
            assertThat(e.readAsync()).succeedsWithin(WAIT).isEqualTo(4L);
        }
    }

    @Test
    void readAsyncCompletesWhenSignalled() throws InterruptedException {
        try (EventFd e = EventFd.open()) {
            CompletableFuture<Long> value = e.readAsync();
            assertThat(value).isNotDone();
            e.signal(3);
            assertThat(value).succeedsWithin(WAIT).isEqualTo(3L);
        }
    }

    @Test
    void readAsyncOnANonZeroCounterIsAlreadyComplete() throws InterruptedException {
        try (EventFd e = EventFd.open()) {
            e.signal(9);
            assertThat(e.readAsync()).isCompletedWithValue(9L);
        }
    }

    @Test
    void pendingReadAsyncFuturesAreServedInOrderInSemaphoreMode() throws InterruptedException {
        try (EventFd e = EventFd.openSemaphore()) {
            List<CompletableFuture<Long>> futures = new ArrayList<>();
            for (int i = 0; i < 5; i++) futures.add(e.readAsync());
            e.signal(3);
            for (int i = 0; i < 3; i++) assertThat(futures.get(i)).succeedsWithin(WAIT).isEqualTo(1L);
            assertThat(futures.get(3)).isNotDone();
            e.signal(2);
            assertThat(futures.get(3)).succeedsWithin(WAIT).isEqualTo(1L);
            assertThat(futures.get(4)).succeedsWithin(WAIT).isEqualTo(1L);
        }
    }

    @Test
    void cancelledReadAsyncLosesNoCount() throws Exception {
        try (EventFd e = EventFd.open()) {
            // Cancel races with the poller reading the value: whichever wins, the value must end up somewhere.
            for (int i = 1; i <= 500; i++) {
                CompletableFuture<Long> claim = e.readAsync();
                e.signal(i);
                boolean cancelled = claim.cancel(false);
                long received = cancelled ? e.readAsync().get(WAIT.toMillis(), TimeUnit.MILLISECONDS) : claim.join();
                if (received != i) throw new AssertionError("iteration " + i + (cancelled ? " (cancelled)" : "") + " received " + received);
                assertThat(e.tryRead()).isEmpty();
            }
        }
    }

    @Test
    void cancelledReadAsyncBeforeAnySignalLeavesTheValueInTheCounter() throws Exception {
        try (EventFd e = EventFd.open()) {
            CompletableFuture<Long> claim = e.readAsync();
            assertThat(claim.cancel(false)).isTrue();
            e.signal(11);
            assertThat(e.readAsync()).succeedsWithin(WAIT).isEqualTo(11L);
        }
    }

    @Test
    void closeFailsPendingReadAsyncFutures() {
        EventFd e = EventFd.open();
        CompletableFuture<Long> first = e.readAsync();
        CompletableFuture<Long> second = e.readAsync();
        e.close();
        for (CompletableFuture<Long> pending : List.of(first, second)) {
            assertThat(pending).failsWithin(WAIT).withThrowableOfType(ExecutionException.class).withCauseInstanceOf(IOException.class);
        }
    }

    @Test
    void closeWakesABlockedReaderWithIllegalState() throws Exception {
        EventFd e = EventFd.open();
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread reader = readerBlockedOnAnEmptyCounter(e, Thread.ofVirtual(), outcome);
        e.close();
        assertThat(reader.join(WAIT)).as("reader woke").isTrue();
        assertThat(outcome.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void closeWakesABlockedWriterWithIllegalState() throws Exception {
        EventFd e = EventFd.open();
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread writer = writerBlockedOnAFullCounter(e, outcome);
        e.close();
        writer.join(WAIT.toMillis());
        assertThat(outcome.get()).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void thousandVirtualThreadsBlockedInReadAllCompleteAfterThousandSignals() throws Exception {
        int readers = 1_000;
        try (EventFd e = EventFd.openSemaphore()) {
            AtomicLong sum = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            for (int i = 0; i < readers; i++) {
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        sum.addAndGet(e.read());
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }));
            }
            for (int i = 0; i < readers; i++) e.signal(1);
            for (Thread t : threads) {
                assertThat(t.join(WAIT)).as("%s finished", t).isTrue();
            }
            assertThat(failure.get()).isNull();
            assertThat(sum.get()).isEqualTo(readers);
            assertThat(e.tryRead()).isEmpty();
        }
    }

    @Test
    void concurrentSignalsFromManyThreadsAreAllCounted() throws Exception {
        try (EventFd e = EventFd.open()) {
            int perThread = 10_000;
            List<Thread> writers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                writers.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < perThread; i++) e.trySignal(1);
                }));
            }
            long total = 0;
            for (Thread w : writers) w.join();
            for (OptionalLong v; (v = e.tryRead()).isPresent(); ) total += v.getAsLong();
            assertThat(total).isEqualTo(4L * perThread);
        }
    }

    // ------------------------------------------------------------------ the user's own registration and fdkit's waits

    @Test
    void blockingReadWorksWhileTheUserHasTheEventFdRegisteredOnTheSharedPoller() throws Exception {
        try (EventFd e = EventFd.open()) {
            CompletableFuture<Integer> handlerSaw = new CompletableFuture<>();
            Poller.Registration mine = Poller.shared().register(e, Poller.READABLE, Poller.Trigger.ONE_SHOT, (r, events) -> handlerSaw.complete(events));
            try {
                AtomicReference<Object> outcome = new AtomicReference<>();
                Thread reader = Thread.ofVirtual().start(() -> {
                    try {
                        outcome.set(e.read());
                    } catch (Throwable t) {
                        outcome.set(t);
                    }
                });
                Processes.awaitParked(reader);
                e.signal(5);
                assertThat(reader.join(WAIT)).as("reader woke").isTrue();
                assertThat(outcome.get()).isEqualTo(5L);
                assertThat(handlerSaw).as("the user's registration fired too").succeedsWithin(WAIT).isEqualTo(Poller.READABLE);
            } finally {
                mine.cancel();
            }
        }
    }

    @Test
    void theUserCanRegisterOnTheSharedPollerAfterBlockingReadsAndWrites() throws Exception {
        try (EventFd e = EventFd.open()) {
            CompletableFuture<Long> pending = e.readAsync(); // fdkit's own interest is registered now
            e.signal(2);
            assertThat(pending).succeedsWithin(WAIT).isEqualTo(2L);
            e.signal(Long.MAX_VALUE);
            e.signal(Long.MAX_VALUE);
            CompletableFuture<Integer> writable = new CompletableFuture<>();
            Poller.Registration mine = Poller.shared().register(e, Poller.WRITABLE, Poller.Trigger.ONE_SHOT, (r, events) -> writable.complete(events));
            try {
                Thread writer = Thread.ofPlatform().start(() -> {
                    try {
                        e.signal(1); // a full counter: waits for room through fdkit's interest
                    } catch (InterruptedException ignored) {
                        // not interrupted here
                    }
                });
                Processes.awaitParked(writer);
                assertThat(e.read()).isEqualTo(-2L); // 2^64-2, the full counter: room again
                assertThat(writer.join(WAIT)).as("writer woke").isTrue();
                assertThat(writable).succeedsWithin(WAIT).isEqualTo(Poller.WRITABLE);
                assertThat(e.read()).isEqualTo(1L);
            } finally {
                mine.cancel();
            }
        }
    }

    @Test
    void closeReleasesTheDescriptorsOfABlockedWait() throws Exception {
        String eventfds = "anon_inode:[eventfd]";
        int before = LeakGuard.openDescriptors().getOrDefault(eventfds, 0);
        EventFd e = EventFd.open();
        Poller.Registration mine = Poller.shared().register(e, Poller.READABLE, Poller.Trigger.EDGE, (r, events) -> { });
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread reader = readerBlockedOnAnEmptyCounter(e, Thread.ofPlatform(), outcome);
        e.close();
        assertThat(reader.join(WAIT)).as("reader woke").isTrue();
        assertThat(outcome.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThat(mine.isActive()).as("closing cancels the user's registration").isFalse();
        Processes.awaitCondition(WAIT, () -> LeakGuard.openDescriptors().getOrDefault(eventfds, 0) == before);
        assertThat(LeakGuard.openDescriptors().getOrDefault(eventfds, 0)).as("eventfd descriptors after close").isEqualTo(before);
    }

    /** README "Example: EventFd and Poller", as written there, with its comments checked. */
    @Test
    void readmeEventFdAndPollerExampleDoesWhatItsCommentsSay() throws Exception {
        List<Long> handlerSaw = java.util.Collections.synchronizedList(new ArrayList<>());
        try (EventFd wakeups = EventFd.open(); EventFd done = EventFd.open()) {
            // Handler-driven: the shared poller's one thread runs the handlers of any number of registrations.
            AtomicLong seen = new AtomicLong();
            Poller.Registration r = Poller.shared().register(wakeups, Poller.READABLE, (registration, events) -> {
                long n = wakeups.tryReadValue();               // the handler is this counter's only reader
                handlerSaw.add(n);
                if (seen.addAndGet(n) == 3) done.trySignal(1); // it sees 3, or 1 then 2
            });
            wakeups.signal(1);
            wakeups.signal(2);
            done.read();        // blocks until the handler signals: parks in Java, safe on virtual threads
            r.cancel();         // once cancel() returns, the handler is not running and never runs again
        }
        assertThat(handlerSaw).isIn(List.of(3L), List.of(1L, 2L));

        // Own the loop yourself, or nest poller.fd() in your epoll/selector:
        try (Poller poller = Poller.open(); EventFd e = EventFd.openSemaphore()) {
            poller.register(e, Poller.READABLE, (reg, ev) -> e.tryRead());
            e.signal(1);
            int handled = poller.poll(Duration.ofMillis(100));  // runs ready handlers on this thread
            assertThat(handled).isEqualTo(1);
            assertThat(e.tryRead()).as("the handler took the one count").isEmpty();
        }
    }

    // ------------------------------------------------------------------ helpers

    /** /proc/self/fdinfo/N as key to value ({@code flags} is octal, {@code eventfd-count} hexadecimal). */
    static Map<String, String> fdinfo(int fd) throws IOException {
        Map<String, String> info = new HashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
            int colon = line.indexOf(':');
            if (colon > 0) info.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
        }
        return info;
    }
}
