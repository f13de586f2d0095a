package dev.fdkit;

import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.linux.fdkit_h;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import static dev.fdkit.Processes.awaitParked;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@ExtendWith(LeakGuard.class)
@Timeout(60)
class PollerTest {
    /** HotSpot's exit waited up to 300 ms for the idle poller thread to come out of epoll_wait, in every JVM using fdkit. */
    @Test
    void atJvmExitTheSharedPollerLeavesEpollWaitAndParksInJava() throws Exception {
        ScenarioJvm.Result exit = ScenarioJvm.run(PollerExitScenario.class, java.time.Duration.ofSeconds(30), java.util.List.of());
        assertThat(exit.exitCode()).isZero();
        assertThat(exit.value("parkedInJavaAtExit")).isEqualTo("true");
    }

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Poller.Handler NOTHING = (r, events) -> {};
    /** Runs each task on a new platform thread: a thread blocked in epoll_wait must not be a pooled one. */
    private static final Executor NEW_THREAD = task -> Thread.ofPlatform().name("test-poll-caller").start(task);

    // ------------------------------------------------------------------ many registrations

    @ParameterizedTest
    @EnumSource(Poller.Trigger.class)
    void tenThousandEventFdsSignalledFromFourThreadsRunEachHandlerExactlyOnce(Poller.Trigger trigger) throws Exception {
        int count = 10_000;
        int signallers = 4;
        EventFd[] fds = new EventFd[count];
        AtomicIntegerArray runs = new AtomicIntegerArray(count);
        AtomicInteger wrongValues = new AtomicInteger();
        AtomicInteger total = new AtomicInteger();
        try (Poller poller = Poller.open()) {
            try {
                for (int i = 0; i < count; i++) {
                    fds[i] = EventFd.open();
                    int index = i;
                    // Reading in the handler makes LEVEL and EDGE quiet again; ONE_SHOT is disarmed anyway.
                    poller.register(fds[i], Poller.READABLE, trigger, (r, events) -> {
                        runs.incrementAndGet(index);
                        total.incrementAndGet();
                        if (fds[index].tryReadValue() != 1) wrongValues.incrementAndGet();
                    });
                }
                assertThat(poller.registrations()).isEqualTo(count);

                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < signallers; t++) {
                    int first = t;
                    threads.add(Thread.ofPlatform().name("signaller-" + t).start(() -> {
                        for (int i = first; i < count; i += signallers) fds[i].trySignal(1);
                    }));
                }
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (total.get() < count && System.nanoTime() < deadline) {
                    poller.poll(Duration.ofMillis(100));
                }
                for (Thread t : threads) t.join();
                assertThat(total.get()).as("handlers run").isEqualTo(count);
                assertThat(poller.poll(Duration.ofMillis(20))).as("nothing is ready any more").isZero();
                assertThat(poller.poll(Duration.ZERO)).isZero();
                for (int i = 0; i < count; i++) {
                    if (runs.get(i) != 1) throw new AssertionError("handler " + i + " ran " + runs.get(i) + " times");
                }
                assertThat(wrongValues.get()).isZero();
            } finally {
                for (EventFd e : fds) if (e != null) e.close();
            }
            assertThat(poller.registrations()).as("closing each EventFd cancelled its registration").isZero();
        }
    }

    // ------------------------------------------------------------------ cancel

    @Test
    void handlerNeverRunsAfterCancelReturnsWhileAnotherThreadPolls() throws Exception {
        AtomicInteger lateRuns = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger pollRounds = new AtomicInteger();
        AtomicReference<Throwable> pollFailure = new AtomicReference<>();
        try (Poller poller = Poller.open()) {
            Thread polling = Thread.ofPlatform().name("polling").start(() -> {
                try {
                    while (!stop.get()) {
                        poller.poll(Duration.ofMillis(5));
                        pollRounds.incrementAndGet();
                    }
                } catch (Throwable t) {
                    pollFailure.set(t);
                }
            });
            try {
                for (int i = 0; i < 5_000; i++) {
                    try (EventFd e = EventFd.open()) {
                        e.signal(1); // stays readable: the LEVEL handler fires on every poll
                        AtomicBoolean cancelReturned = new AtomicBoolean();
                        CountDownLatch ran = new CountDownLatch(1);
                        Poller.Registration r = poller.register(e, Poller.READABLE, (reg, events) -> {
                            if (cancelReturned.get()) lateRuns.incrementAndGet();
                            ran.countDown();
                        });
                        assertThat(ran.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
                        if (i % 2 == 0) {
                            r.cancel();
                        } else {
                            e.close(); // closing the target cancels the registration as well
                        }
                        cancelReturned.set(true);
                        assertThat(r.isActive()).isFalse();
                    }
                }
            } finally {
                // two whole poll rounds after the last cancel: any stale event has reached the polling thread
                int rounds = pollRounds.get();
                Processes.awaitCondition(WAIT, () -> pollRounds.get() >= rounds + 2 || !polling.isAlive());
                stop.set(true);
                poller.wakeup();
                polling.join();
            }
            assertThat(pollFailure.get()).isNull();
            assertThat(lateRuns.get()).as("handler runs after cancel returned").isZero();
            assertThat(poller.registrations()).isZero();
        }
    }

    @Test
    void cancelWaitsForTheHandlerRunningOnAnotherThread() throws Exception {
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicBoolean handlerRunning = new AtomicBoolean();
            Poller.Registration r = poller.register(e, Poller.READABLE, Poller.Trigger.ONE_SHOT, (reg, events) -> {
                handlerRunning.set(true);
                entered.countDown();
                try {
                    release.await();
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
                handlerRunning.set(false);
            });
            e.signal(1);
            CompletableFuture<Integer> polled = CompletableFuture.supplyAsync(() -> poller.poll(WAIT), NEW_THREAD);
            assertThat(entered.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();

            AtomicBoolean runningWhenCancelReturned = new AtomicBoolean(true);
            Thread canceller = Thread.ofPlatform().start(() -> {
                r.cancel();
                runningWhenCancelReturned.set(handlerRunning.get());
            });
            awaitParked(canceller);
            assertThat(canceller.isAlive()).as("cancel waits for the running handler").isTrue();
            release.countDown();
            canceller.join(WAIT.toMillis());
            assertThat(runningWhenCancelReturned.get()).isFalse();
            assertThat(polled).succeedsWithin(WAIT).isEqualTo(1);
            assertThat(poller.registrations()).isZero();
        }
    }

    @Test
    void cancelReturnsPromptlyWhileAnotherThreadIsBlockedInEpollWait() throws Exception {
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            Poller.Registration r = poller.register(e, Poller.READABLE, NOTHING);
            CompletableFuture<Integer> polled = CompletableFuture.supplyAsync(poller::poll, NEW_THREAD);
            Thread polling = awaitThreadInEpollWait();
            CompletableFuture<Void> cancelled = CompletableFuture.runAsync(r::cancel, NEW_THREAD);
            assertThat(cancelled).succeedsWithin(WAIT);
            assertThat(poller.registrations()).isZero();
            assertThat(polled).isNotDone();
            assertThat(polling.isAlive()).isTrue();
            poller.wakeup();
            assertThat(polled).succeedsWithin(WAIT).isEqualTo(0);
        }
    }

    @Test
    void cancelIsIdempotentAndRearmAfterCancelFails() {
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            Poller.Registration r = poller.register(e, Poller.READABLE, NOTHING);
            r.cancel();
            assertThatCode(r::cancel).doesNotThrowAnyException();
            assertThatThrownBy(r::rearm).isInstanceOf(IllegalStateException.class);
            assertThat(poller.registrations()).isZero();
        }
    }

    @Test
    void handlerMayCancelItsOwnRegistration() throws InterruptedException {
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            AtomicInteger runs = new AtomicInteger();
            poller.register(e, Poller.READABLE, (r, events) -> {
                runs.incrementAndGet();
                r.cancel();
            });
            e.signal(1);
            assertThat(poller.poll(WAIT)).isEqualTo(1);
            assertThat(poller.poll(Duration.ZERO)).isZero();
            assertThat(runs.get()).isEqualTo(1);
            assertThat(poller.registrations()).isZero();
        }
    }

    @Test
    void handlerMayCloseItsOwnTarget() throws InterruptedException {
        try (Poller poller = Poller.open()) {
            EventFd e = EventFd.open();
            AtomicInteger runs = new AtomicInteger();
            Poller.Registration registration = poller.register(e, Poller.READABLE, (r, events) -> {
                runs.incrementAndGet();
                e.close();
            });
            e.signal(1);
            assertThat(poller.poll(WAIT)).isEqualTo(1);
            assertThat(poller.poll(Duration.ZERO)).isZero();
            assertThat(runs.get()).isEqualTo(1);
            assertThat(registration.isActive()).isFalse();
            assertThat(poller.registrations()).isZero();
        }
    }

    @Test
    void closingARegisteredEventFdCancelsItsRegistration() {
        try (Poller poller = Poller.open()) {
            EventFd e = EventFd.open();
            AtomicInteger runs = new AtomicInteger();
            Poller.Registration r = poller.register(e, Poller.READABLE, (reg, events) -> runs.incrementAndGet());
            try (EventFd other = EventFd.open()) {
                poller.register(other, Poller.READABLE, NOTHING);
                assertThat(poller.registrations()).isEqualTo(2);
                e.close();
                assertThat(poller.registrations()).isEqualTo(1);
                assertThat(r.isActive()).isFalse();
                assertThat(poller.poll(Duration.ZERO)).isZero();
                assertThat(runs.get()).isZero();
            }
            assertThat(poller.registrations()).isZero();
        }
    }

    // ------------------------------------------------------------------ close

    @Test
    void closeWhileAnotherThreadIsBlockedInPollReturnsZeroAndReleasesEveryDescriptor() throws Exception {
        int baseline = LeakGuard.openDescriptorCount();
        EventFd e = EventFd.open();
        Poller poller = Poller.open();
        Poller.Registration r = poller.register(e, Poller.READABLE, NOTHING);
        CompletableFuture<Integer> polled = CompletableFuture.supplyAsync(poller::poll, NEW_THREAD);
        awaitThreadInEpollWait();

        poller.close();
        assertThat(polled).succeedsWithin(WAIT).isEqualTo(0);
        assertThat(r.isActive()).isFalse();
        assertThat(poller.registrations()).isZero();
        assertThat(poller.poll(Duration.ZERO)).as("poll on a closed poller").isZero();
        assertThatCode(poller::close).as("close is idempotent").doesNotThrowAnyException();
        assertThatThrownBy(poller::fd).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> poller.register(e, Poller.READABLE, NOTHING)).isInstanceOf(IllegalStateException.class);
        assertThatCode(poller::wakeup).doesNotThrowAnyException();

        assertThat(e.trySignal(1)).as("the EventFd outlives the poller").isTrue();
        e.close();
        assertThat(LeakGuard.openDescriptorCount()).isEqualTo(baseline);
    }

    @Test
    void closeWhileAnotherThreadPollsInALoopLetsNoExceptionEscape() throws Exception {
        for (int i = 0; i < 200; i++) {
            Poller poller = Poller.open();
            try (EventFd e = EventFd.open()) {
                e.signal(1);
                poller.register(e, Poller.READABLE, NOTHING); // level-triggered and never read: always ready
                AtomicBoolean closed = new AtomicBoolean();
                CompletableFuture<Void> loop = CompletableFuture.runAsync(() -> {
                    while (!closed.get()) poller.poll(Duration.ofMillis(1));
                }, NEW_THREAD);
                // not a wait: a spin of varying length varies where close lands in the loop (before or during polls)
                for (int spin = 0; spin < (i % 4) * 5_000; spin++) Thread.onSpinWait();
                poller.close();
                closed.set(true);
                assertThat(loop).succeedsWithin(WAIT);
                assertThat(poller.registrations()).isZero();
            }
        }
    }

    @Test
    void handlerMayCloseThePollerItRunsOn() throws InterruptedException {
        Poller poller = Poller.open();
        try (EventFd a = EventFd.open(); EventFd b = EventFd.open()) {
            AtomicInteger runs = new AtomicInteger();
            Poller.Handler closing = (r, events) -> {
                runs.incrementAndGet();
                poller.close();
            };
            poller.register(a, Poller.READABLE, closing);
            poller.register(b, Poller.READABLE, closing);
            a.signal(1);
            b.signal(1);
            assertThatCode(() -> poller.poll(WAIT)).doesNotThrowAnyException();
            assertThat(runs.get()).as("close cancelled the other registration").isEqualTo(1);
            assertThat(poller.registrations()).isZero();
            assertThat(poller.poll(Duration.ZERO)).isZero();
        }
    }

    @Test
    void registerRacingWithCloseFailsOnlyWithIllegalState() throws Exception {
        // register() must not issue epoll_ctl on the epoll number once close() has released it: the kernel
        // reuses numbers at once, so a racing register would hit whatever descriptor got the number (EBADF,
        // EINVAL, or worse, another epoll set).
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        for (int round = 0; round < 200 && unexpected.get() == null; round++) {
            Poller poller = Poller.open();
            CountDownLatch started = new CountDownLatch(1);
            Thread registering = Thread.ofPlatform().start(() -> {
                List<EventFd> fds = new ArrayList<>();
                try {
                    for (int i = 0; i < 1_000; i++) {
                        EventFd e = EventFd.open(); // also competes for the number close() frees
                        fds.add(e);
                        started.countDown();
                        poller.register(e, Poller.READABLE, NOTHING).rearm(Poller.READABLE | Poller.WRITABLE);
                    }
                } catch (IllegalStateException closed) {
                    // the poller is closed: the one expected failure
                } catch (Throwable t) {
                    unexpected.compareAndSet(null, t);
                } finally {
                    started.countDown();
                    fds.forEach(EventFd::close);
                }
            });
            started.await();
            poller.close();
            registering.join();
            assertThat(poller.registrations()).isZero();
        }
        assertThat(unexpected.get()).isNull();
    }

    // ------------------------------------------------------------------ embedding

    @Test
    void pollWithTimeoutReturnsZeroWhenNothingIsReady() {
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            poller.register(e, Poller.READABLE, NOTHING);
            long start = System.nanoTime();
            assertThat(poller.poll(Duration.ofMillis(50))).isZero();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(45));
            assertThat(poller.poll(Duration.ZERO)).isZero();
            assertThat(poller.poll(Duration.ofNanos(1))).as("a sub-millisecond timeout").isZero();
        }
    }

    @Test
    void pollRunsHandlersOnTheCallingThread() throws InterruptedException {
        try (Poller poller = Poller.open(); EventFd a = EventFd.open(); EventFd b = EventFd.open()) {
            List<Thread> ranOn = new ArrayList<>();
            List<Integer> events = new ArrayList<>();
            Poller.Handler handler = (r, ready) -> {
                ranOn.add(Thread.currentThread());
                events.add(ready);
                ((EventFd) r.target()).tryReadValue();
            };
            poller.register(a, Poller.READABLE, handler);
            poller.register(b, Poller.READABLE, handler);
            a.signal(1);
            b.signal(2);
            int handled = 0;
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (handled < 2 && System.nanoTime() < deadline) handled += poller.poll(WAIT);
            assertThat(handled).isEqualTo(2);
            assertThat(ranOn).containsOnly(Thread.currentThread());
            assertThat(events).containsOnly(Poller.READABLE);
        }
    }

    @Test
    void negativeTimeoutPollsWithoutBlocking() throws Exception {
        // fdkit's one rule for timeouts (README): negative means "do not wait", as Duration.ZERO.
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            poller.register(e, Poller.READABLE, (r, events) -> e.tryReadValue());
            assertThat(poller.poll(Duration.ofMillis(-1))).as("nothing ready: returns at once").isZero();
            e.signal(1);
            assertThat(poller.poll(Duration.ofSeconds(-5))).as("ready: its handler runs").isEqualTo(1);
        }
    }

    @Test
    void timeoutsBeyondALongOfNanosecondsWaitUntilWokenInsteadOfOverflowing() throws Exception {
        try (Poller poller = Poller.open()) {
            for (Duration endless : List.of(java.time.temporal.ChronoUnit.FOREVER.getDuration(), Duration.ofDays(365L * 1000), Duration.ofDays(30))) {
                CompletableFuture<Integer> polled = CompletableFuture.supplyAsync(() -> poller.poll(endless), NEW_THREAD);
                awaitThreadInEpollWait();
                poller.wakeup();
                assertThat(polled).as("poll(%s)", endless).succeedsWithin(WAIT).isEqualTo(0);
            }
        }
    }

    @Test
    void wakeupMakesABlockedPollReturn() throws Exception {
        try (Poller poller = Poller.open()) {
            CompletableFuture<Integer> polled = CompletableFuture.supplyAsync(poller::poll, NEW_THREAD);
            awaitThreadInEpollWait();
            poller.wakeup();
            assertThat(polled).succeedsWithin(WAIT).isEqualTo(0);
        }
    }

    /**
     * Regression: pollOnce cleared the wake-up flag before reading the eventfd, so a wakeup() between the
     * two left the flag set with its signal consumed, and every later wakeup() did nothing: poll() hung.
     */
    @Test
    void wakeupsRacingWithAPollingThreadNeverGetLost() throws Exception {
        int rounds = 20_000;
        try (Poller poller = Poller.open()) {
            AtomicInteger polls = new AtomicInteger();
            AtomicBoolean stop = new AtomicBoolean();
            Thread pollingThread = Thread.ofPlatform().name("test-poll-loop").start(() -> {
                while (!stop.get()) {
                    poller.poll();
                    polls.incrementAndGet();
                }
            });
            long deadline = System.nanoTime() + WAIT.toNanos();
            List<Thread> wakers = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                wakers.add(Thread.ofPlatform().name("test-waker-" + i).start(() -> {
                    while (polls.get() < rounds && System.nanoTime() < deadline) poller.wakeup();
                }));
            }
            for (Thread w : wakers) w.join();
            int reached = polls.get();
            stop.set(true);
            poller.wakeup(); // a poller that lost its wake-up state never returns from this poll
            pollingThread.join(WAIT.toMillis());
            assertThat(pollingThread.isAlive()).as("poll() still blocked after wakeup(); polls=%d", reached).isFalse();
            assertThat(reached).isGreaterThanOrEqualTo(rounds);
        }
    }

    @Test
    void secondThreadCannotPollWhileOneIsPolling() throws Exception {
        try (Poller poller = Poller.open()) {
            CompletableFuture<Integer> polled = CompletableFuture.supplyAsync(poller::poll, NEW_THREAD);
            awaitThreadInEpollWait();
            assertThatThrownBy(() -> poller.poll(Duration.ZERO)).isInstanceOf(IllegalStateException.class);
            poller.wakeup();
            assertThat(polled).succeedsWithin(WAIT).isEqualTo(0);
        }
    }

    @Test
    void pollerDescriptorNestsInAnotherPoller() throws InterruptedException {
        try (Poller inner = Poller.open(); Poller outer = Poller.open(); EventFd e = EventFd.open()) {
            AtomicInteger innerRuns = new AtomicInteger();
            inner.register(e, Poller.READABLE, (r, events) -> {
                innerRuns.incrementAndGet();
                e.tryReadValue();
            });
            AtomicInteger outerEvents = new AtomicInteger();
            Poller.Registration nested = outer.register(inner, Poller.READABLE, (r, events) -> {
                outerEvents.set(events);
                inner.poll(Duration.ZERO); // the host loop drives the nested poller when its fd is readable
            });
            assertThat(outer.poll(Duration.ZERO)).as("nothing ready yet").isZero();
            e.signal(1);
            assertThat(outer.poll(WAIT)).isEqualTo(1);
            assertThat(outerEvents.get() & Poller.READABLE).isNotZero();
            assertThat(innerRuns.get()).isEqualTo(1);
            assertThat(outer.poll(Duration.ZERO)).as("inner drained, so its fd is quiet").isZero();
            nested.cancel(); // a foreign Pollable: cancel before its descriptor goes away
        }
    }

    // ------------------------------------------------------------------ triggers and events

    @Test
    void levelTriggeredFiresOnEveryPollWhileReadable() throws InterruptedException {
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            AtomicInteger runs = new AtomicInteger();
            poller.register(e, Poller.READABLE, Poller.Trigger.LEVEL, (r, events) -> runs.incrementAndGet());
            e.signal(1);
            for (int i = 0; i < 3; i++) assertThat(poller.poll(WAIT)).isEqualTo(1);
            assertThat(runs.get()).isEqualTo(3);
            e.tryReadValue();
            assertThat(poller.poll(Duration.ZERO)).isZero();
        }
    }

    @Test
    void edgeTriggeredFiresOncePerSignal() throws InterruptedException {
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            AtomicInteger runs = new AtomicInteger();
            poller.register(e, Poller.READABLE, Poller.Trigger.EDGE, (r, events) -> runs.incrementAndGet());
            e.signal(1);
            assertThat(poller.poll(WAIT)).isEqualTo(1);
            assertThat(poller.poll(Duration.ZERO)).as("still readable, but no new edge").isZero();
            e.signal(1); // every eventfd write is a new edge, even while already readable
            assertThat(poller.poll(WAIT)).isEqualTo(1);
            assertThat(poller.poll(Duration.ZERO)).isZero();
            assertThat(runs.get()).isEqualTo(2);
            assertThat(e.tryRead()).hasValue(2);
        }
    }

    @Test
    void oneShotFiresOnceUntilRearmed() throws InterruptedException {
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            AtomicInteger runs = new AtomicInteger();
            Poller.Registration r = poller.register(e, Poller.READABLE, Poller.Trigger.ONE_SHOT, (reg, events) -> runs.incrementAndGet());
            e.signal(1);
            assertThat(poller.poll(WAIT)).isEqualTo(1);
            e.signal(1);
            assertThat(poller.poll(Duration.ofMillis(20))).as("disarmed").isZero();
            r.rearm();
            assertThat(poller.poll(WAIT)).isEqualTo(1);
            assertThat(poller.poll(Duration.ZERO)).isZero();
            assertThat(runs.get()).isEqualTo(2);
            assertThat(r.isActive()).isTrue();
        }
    }

    @Test
    void rearmCanChangeTheEvents() {
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            AtomicInteger seen = new AtomicInteger();
            Poller.Registration r = poller.register(e, Poller.READABLE, Poller.Trigger.ONE_SHOT, (reg, events) -> seen.set(events));
            assertThat(poller.poll(Duration.ZERO)).as("an empty eventfd is not readable").isZero();
            r.rearm(Poller.WRITABLE);
            assertThat(r.events()).isEqualTo(Poller.WRITABLE);
            assertThat(poller.poll(WAIT)).isEqualTo(1);
            assertThat(seen.get()).isEqualTo(Poller.WRITABLE);
        }
    }

    @Test
    void writableIsReportedWhileTheCounterHasRoom() {
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            AtomicInteger seen = new AtomicInteger();
            poller.register(e, Poller.WRITABLE, (r, events) -> seen.set(events));
            assertThat(poller.poll(WAIT)).isEqualTo(1);
            assertThat(seen.get()).isEqualTo(Poller.WRITABLE);
            assertThat(e.trySignal(Long.MAX_VALUE)).isTrue();
            assertThat(e.trySignal(Long.MAX_VALUE)).isTrue();
            assertThat(poller.poll(Duration.ZERO)).as("a full counter is not writable").isZero();
        }
    }

    @Test
    void hangupIsReportedWhenThePeerClosesAPipe() throws Exception {
        long ends = Syscalls.pipe2(fdkit_h.O_CLOEXEC() | fdkit_h.O_NONBLOCK());
        int readEnd = (int) ends;
        int writeEnd = (int) (ends >>> 32);
        try (Poller poller = Poller.open()) {
            AtomicInteger seen = new AtomicInteger();
            Poller.Registration r = poller.register(() -> readEnd, Poller.HANGUP, (reg, events) -> seen.set(events));
            assertThat(poller.poll(Duration.ZERO)).isZero();
            Syscalls.close(writeEnd);
            writeEnd = -1;
            assertThat(poller.poll(WAIT)).isEqualTo(1);
            assertThat(seen.get() & Poller.HANGUP).isNotZero();
            r.cancel();
        } finally {
            if (writeEnd >= 0) Syscalls.close(writeEnd);
            Syscalls.close(readEnd);
        }
    }

    @Test
    void throwingHandlerDoesNotStopPolling() throws InterruptedException {
        Object previousLevel = setPollerLogLevel("OFF"); // the poller logs the exception; keep the test output quiet
        try (Poller poller = Poller.open(); EventFd bad = EventFd.open(); EventFd good = EventFd.open()) {
            AtomicInteger goodRuns = new AtomicInteger();
            poller.register(bad, Poller.READABLE, (r, events) -> {
                bad.tryReadValue();
                throw new IllegalStateException("handler failure for the test");
            });
            poller.register(good, Poller.READABLE, (r, events) -> {
                good.tryReadValue();
                goodRuns.incrementAndGet();
            });
            bad.signal(1);
            assertThatCode(() -> poller.poll(WAIT)).doesNotThrowAnyException();
            good.signal(1);
            assertThat(poller.poll(WAIT)).isEqualTo(1);
            assertThat(goodRuns.get()).isEqualTo(1);
        } finally {
            setPollerLogLevel(previousLevel);
        }
    }

    // ------------------------------------------------------------------ argument checks

    @Test
    void emptyOrUnknownEventsAreRejected() {
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            assertThatThrownBy(() -> poller.register(e, 0, NOTHING)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("events");
            assertThatThrownBy(() -> poller.register(e, 0x100, NOTHING)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0x100");
            assertThatThrownBy(() -> poller.register(e, Poller.READABLE | 0x100, NOTHING)).isInstanceOf(IllegalArgumentException.class);
            assertThat(poller.registrations()).isZero();
            Poller.Registration r = poller.register(e, Poller.READABLE, NOTHING);
            assertThatThrownBy(() -> r.rearm(0)).isInstanceOf(IllegalArgumentException.class);
            assertThat(r.events()).isEqualTo(Poller.READABLE);
        }
    }

    @Test
    void nullArgumentsAreRejected() {
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            assertThatThrownBy(() -> poller.register(null, Poller.READABLE, NOTHING)).isInstanceOf(NullPointerException.class);
            assertThatThrownBy(() -> poller.register(e, Poller.READABLE, null, NOTHING)).isInstanceOf(NullPointerException.class);
            assertThatThrownBy(() -> poller.register(e, Poller.READABLE, null)).isInstanceOf(NullPointerException.class);
            assertThatThrownBy(() -> poller.poll(null)).isInstanceOf(NullPointerException.class);
            assertThat(poller.registrations()).isZero();
        }
    }

    @Test
    void aForeignPollableWithoutADescriptorIsRefusedNamingTheRule() {
        try (Poller poller = Poller.open()) {
            assertThatThrownBy(() -> poller.register(() -> -1, Poller.READABLE, NOTHING))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("target.fd() must be an open descriptor (0 or more), was -1");
            assertThat(poller.registrations()).isZero();
        }
    }

    @Test
    void registeringAClosedEventFdFailsWithIllegalState() {
        try (Poller poller = Poller.open()) {
            EventFd e = EventFd.open();
            e.close();
            assertThatThrownBy(() -> poller.register(e, Poller.READABLE, NOTHING)).isInstanceOf(IllegalStateException.class);
            assertThat(poller.registrations()).isZero();
        }
    }

    @Test
    void registeringTheSameDescriptorTwiceFailsWithEexistAndKeepsTheFirst() throws InterruptedException {
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            AtomicInteger runs = new AtomicInteger();
            poller.register(e, Poller.READABLE, (r, events) -> {
                runs.incrementAndGet();
                e.tryReadValue();
            });
            assertThatThrownBy(() -> poller.register(e, Poller.READABLE, NOTHING))
                    .isInstanceOf(UncheckedIOException.class)
                    .cause().isInstanceOfSatisfying(ErrnoException.class, x -> assertThat(x.errnoName()).isEqualTo("EEXIST"))
                    .hasMessageContaining("op=EPOLL_CTL_ADD"); // the operation by name, not its number
            assertThat(poller.registrations()).isEqualTo(1);
            e.signal(1);
            assertThat(poller.poll(WAIT)).isEqualTo(1);
            assertThat(runs.get()).isEqualTo(1);
        }
    }

    // ------------------------------------------------------------------ the shared poller

    @Test
    void sharedPollerCannotBeClosedOrPolledFromAnotherThread() {
        Poller shared = Poller.shared();
        assertThat(Poller.shared()).isSameAs(shared);
        assertThatThrownBy(shared::close).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> shared.poll(Duration.ZERO)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(shared::poll).isInstanceOf(IllegalStateException.class);
        assertThat(shared.fd()).as("still open").isNotNegative();
        // too late to host it in a foreign loop once its thread runs (NettyHostTest hosts it in a fresh JVM)
        assertThatThrownBy(Poller::hostShared).isInstanceOf(IllegalStateException.class).hasMessageContaining("before anything uses Poller.shared()");
    }

    @Test
    void sharedPollerRunsHandlersOnItsOwnDaemonThread() throws Exception {
        try (EventFd e = EventFd.open()) {
            CompletableFuture<Thread> ranOn = new CompletableFuture<>();
            Poller.Registration r = Poller.shared().register(e, Poller.READABLE, Poller.Trigger.ONE_SHOT,
                    (reg, events) -> ranOn.complete(Thread.currentThread()));
            e.signal(1);
            Thread thread = ranOn.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(thread.getName()).isEqualTo("fdkit-poller");
            assertThat(thread.isDaemon()).isTrue();
            assertThat(thread.isVirtual()).isFalse();
            r.cancel();
        }
    }

    // ------------------------------------------------------------------ helpers

    /**
     * Sets the java.util.logging level of the Poller's logger (a level name, a Level, or null) and returns
     * the previous Level. Reflective because the tests compile into module dev.fdkit, which does not read
     * java.logging.
     */
    private static Object setPollerLogLevel(Object level) {
        try {
            Class<?> loggerClass = Class.forName("java.util.logging.Logger");
            Class<?> levelClass = Class.forName("java.util.logging.Level");
            Object logger = loggerClass.getMethod("getLogger", String.class).invoke(null, "dev.fdkit.Poller");
            Object previous = loggerClass.getMethod("getLevel").invoke(logger);
            Object newLevel = level instanceof String name ? levelClass.getMethod("parse", String.class).invoke(null, name) : level;
            loggerClass.getMethod("setLevel", levelClass).invoke(logger, newLevel);
            return previous;
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * Waits until some thread is inside Poller's epoll_wait downcall (its Java stack shows
     * {@code Syscalls.epollWait}) and returns it. The shared poller's thread is ignored.
     */
    private static Thread awaitThreadInEpollWait() {
        AtomicReference<Thread> found = new AtomicReference<>();
        boolean reached = Processes.awaitCondition(WAIT, () -> {
            for (var entry : Thread.getAllStackTraces().entrySet()) {
                Thread t = entry.getKey();
                if (t.getName().equals("fdkit-poller")) continue;
                if (Arrays.stream(entry.getValue()).anyMatch(f -> f.getClassName().equals(Syscalls.class.getName()) && f.getMethodName().equals("epollWait"))
                        && KernelThreads.namedThreadSleepsInASyscall(t.getName())) { // from the Java frame into the kernel
                    found.set(t);
                    return true;
                }
            }
            return false;
        });
        if (!reached) throw new AssertionError("no thread reached epoll_wait");
        return found.get();
    }
}
