package dev.fdkit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Close races at volume (issue 10): in every round, racer threads signal, read, wait, poll or submit on a
 * fresh object while the main thread closes it at a random moment and at once opens another object of the
 * same kind, which the kernel gives the closed one's descriptor numbers. A racer may only stop with an
 * exception that says "closed"; no waiter may hang (every wait is bounded by {@link #LIMIT_SECONDS}); nothing a
 * racer does to the closed object may reach the new one (each type checks that its own way); and the
 * descriptor count ends where it started.
 * <p>
 * {@code mvn verify} runs {@link Scale#raceIterations()} rounds of each (1,000); {@code -Pstress} 100,000.
 * No @Timeout: every wait is bounded here, and the stress profile's rounds take minutes.
 */
@Tag("stress")
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
class CloseRaceTest {
    private static final long LIMIT_SECONDS = 10;
    private static final int SIGSTOP = Processes.SIGSTOP;

    /** What a close race needs to know about the type under test. */
    private interface Subject<T extends AutoCloseable> {
        T open() throws Exception;

        /** The object opened right after the target is closed: it gets the target's descriptor numbers. */
        default T openProbe() throws Exception {
            return open();
        }

        /** The target's or probe's descriptor numbers, to count the rounds where the kernel reused them. */
        Set<Integer> numbers(T object) throws Exception;

        /** Once the racers are done: nothing they did to the closed target reached {@code probe}. */
        void assertUntouched(T probe) throws Exception;
    }

    /** Works on {@code target} until it is closed; returns normally once it has seen {@link #expectClosed}'s exception. */
    @FunctionalInterface
    private interface Racer<T> {
        void run(T target) throws Exception;
    }

    // ------------------------------------------------------------------ EventFd

    @Test
    void eventFdClosedWhileSignalledAndReadNeverTouchesTheEventFdThatReusesItsNumber() throws Exception {
        race("EventFd", new Subject<EventFd>() {
            @Override
            public EventFd open() {
                return EventFd.open();
            }

            @Override
            public Set<Integer> numbers(EventFd e) {
                return Set.of(e.fd());
            }

            @Override
            public void assertUntouched(EventFd probe) {
                assertThat(probe.tryReadValue()).as("a signal of the closed EventFd reached the new one").isZero();
            }
        }, List.of(
                e -> { // signals, non-blocking and blocking
                    try {
                        for (;;) {
                            e.trySignal(1);
                            e.signal(1);
                        }
                    } catch (IllegalStateException closed) {
                        expectClosed(closed);
                    }
                },
                e -> { // parks in read() whenever the counter is empty
                    try {
                        for (;;) e.read();
                    } catch (IllegalStateException closed) {
                        expectClosed(closed);
                    }
                },
                e -> { // waits on readAsync futures
                    try {
                        for (;;) {
                            try {
                                e.readAsync().get(LIMIT_SECONDS, TimeUnit.SECONDS);
                            } catch (ExecutionException failed) {
                                expectClosed(failed);
                            }
                        }
                    } catch (IllegalStateException closed) {
                        expectClosed(closed);
                    }
                }));
    }

    // ------------------------------------------------------------------ ProcessDescriptor

    private static ProcessDescriptor first;
    private static ProcessDescriptor second;

    /** Two long sleepers: each round's target is a descriptor opened on the first, its probe one on the second. */
    @BeforeAll
    static void startSleepers() throws IOException {
        first = ProcessDescriptor.start(sleeper(), SpawnOption.KILL_ON_CLOSE);
        second = ProcessDescriptor.start(sleeper(), SpawnOption.KILL_ON_CLOSE);
    }

    @AfterAll
    static void stopSleepers() throws Exception {
        for (ProcessDescriptor p : new ProcessDescriptor[] {first, second}) {
            p.close(); // KILL_ON_CLOSE
            Processes.await(p.onExit(), LIMIT_SECONDS);
        }
    }

    private static ProcessBuilder sleeper() {
        return new ProcessBuilder("sleep", "3600").redirectInput(Redirect.from(new File("/dev/null")))
                .redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD);
    }

    /**
     * The racers send SIGSTOP through a descriptor on the first sleeper: should one ever go through the closed
     * descriptor's number to the probe's process, the second sleeper stops, and stays stopped (nobody continues it).
     */
    @Test
    void processDescriptorClosedWhileSignalledAndAwaitedNeverSignalsTheProcessBehindItsReusedNumber() throws Exception {
        race("ProcessDescriptor", new Subject<ProcessDescriptor>() {
            @Override
            public ProcessDescriptor open() throws IOException {
                return ProcessDescriptor.open(first.pid());
            }

            @Override
            public ProcessDescriptor openProbe() throws IOException {
                return ProcessDescriptor.open(second.pid());
            }

            @Override
            public Set<Integer> numbers(ProcessDescriptor p) {
                return Set.of(p.fd());
            }

            @Override
            public void assertUntouched(ProcessDescriptor probe) throws IOException {
                assertNotStopped(second);
                assertThat(probe.isAlive()).isTrue();
            }
        }, List.of(
                p -> { // signals through the pidfd
                    try {
                        for (;;) {
                            p.signal(SIGSTOP); // false once the close has begun: the descriptor no longer knows
                            p.signal(0);
                            p.isAlive();
                        }
                    } catch (IllegalStateException closed) {
                        expectClosed(closed);
                    }
                },
                p -> { // waits for an exit that never comes: only close() may end the wait
                    try {
                        Optional<ExitStatus> status = p.waitFor(Duration.ofSeconds(2 * LIMIT_SECONDS));
                        throw new AssertionError("waitFor returned " + status + " while the process runs");
                    } catch (IllegalStateException closed) {
                        // Today a CancellationException("get") caused by "... was closed before the process exited": the
                        // lead's fix of ProcessDescriptor after close() changes it; expectClosed looks down the causes.
                        expectClosed(closed);
                    }
                },
                p -> { // close() fails the exit future: "closed" (its future is failed, not thrown, once closed)
                    try {
                        CompletableFuture<ExitStatus> exit = p.onExit();
                        throw new AssertionError("onExit completed with " + exit.get(LIMIT_SECONDS, TimeUnit.SECONDS) + " while the process runs");
                    } catch (ExecutionException | IllegalStateException closed) {
                        expectClosed(closed);
                    }
                }));
    }

    /**
     * Whether a SIGSTOP reached {@code p}: either it is still pending (ShdPnd/SigPnd) or it has been acted on
     * (state T). Read twice, pending first: the kernel takes a stop signal off the pending set and marks the
     * process stopped under one lock, so a send that has returned shows in the first read's mask or the second
     * read's state. No waiting for delivery.
     */
    private static void assertNotStopped(ProcessDescriptor p) throws IOException {
        Path status = Path.of("/proc/" + p.pid() + "/status");
        String first = Files.readString(status);
        String then = Files.readString(status);
        long stopBit = 1L << (SIGSTOP - 1);
        assertThat(statusField(first, "ShdPnd:") & stopBit).as("a SIGSTOP pending for the second sleeper").isZero();
        assertThat(statusField(first, "SigPnd:") & stopBit).as("a SIGSTOP pending for the second sleeper").isZero();
        assertThat(then.lines().filter(l -> l.startsWith("State:")).findFirst().orElseThrow())
                .as("a SIGSTOP for the closed descriptor's process reached the second sleeper").doesNotContain("stopped");
    }

    private static long statusField(String status, String name) {
        return status.lines().filter(l -> l.startsWith(name)).mapToLong(l -> Long.parseUnsignedLong(l.substring(name.length()).trim(), 16))
                .findFirst().orElseThrow(() -> new AssertionError("no " + name + " in /proc/PID/status"));
    }

    // ------------------------------------------------------------------ Poller

    private static EventFd levelReady;
    private static EventFd oneShotReady;
    private static EventFd neverReady;

    /** Opened here, not in a static initialiser, so that LeakGuard's baseline is taken without them. */
    @BeforeAll
    static void openEventFds() {
        levelReady = EventFd.open();
        oneShotReady = EventFd.open();
        neverReady = EventFd.open();
        levelReady.trySignal(1);
        oneShotReady.trySignal(1);
    }

    @AfterAll
    static void closeEventFds() {
        levelReady.close();
        oneShotReady.close();
        neverReady.close();
    }

    @Test
    void pollerClosedWhilePolledAndRegisteredOnNeverAddsToThePollerThatReusesItsNumber() throws Exception {
        AtomicLong handled = new AtomicLong();
        race("Poller", new Subject<Poller>() {
            @Override
            public Poller open() {
                return Poller.open();
            }

            @Override
            public Set<Integer> numbers(Poller p) {
                return Set.of(p.fd());
            }

            @Override
            public void assertUntouched(Poller probe) throws IOException {
                assertThat(probe.registrations()).isZero();
                assertThat(epollTargets(probe.fd())).as("descriptors in the new poller's epoll set: its own wake-up eventfd only").hasSize(1);
            }
        }, List.of(
                p -> { // the polling thread: a poll with nothing ready waits until close() ends it
                    try {
                        for (;;) {
                            p.poll(Duration.ofSeconds(2 * LIMIT_SECONDS)); // 0 once closed
                            p.fd();
                        }
                    } catch (IllegalStateException closed) {
                        expectClosed(closed);
                    }
                },
                p -> {
                    try {
                        for (;;) {
                            Poller.Registration r = p.register(levelReady, Poller.READABLE, (reg, events) -> handled.incrementAndGet());
                            r.rearm(Poller.READABLE | Poller.WRITABLE);
                            r.cancel();
                        }
                    } catch (IllegalStateException closed) {
                        expectClosed(closed); // "Poller is closed", or the rearm's "registration is cancelled" by close()
                    }
                },
                p -> {
                    try {
                        for (;;) {
                            Poller.Registration r = p.register(oneShotReady, Poller.READABLE, Poller.Trigger.ONE_SHOT, (reg, events) -> handled.incrementAndGet());
                            p.register(neverReady, Poller.READABLE, Poller.Trigger.EDGE, (reg, events) -> { throw new AssertionError("never ready"); }).cancel();
                            r.rearm();
                            r.cancel();
                        }
                    } catch (IllegalStateException closed) {
                        expectClosed(closed);
                    }
                }));
        assertThat(handled.get()).as("handlers ran").isPositive();
    }

    /** The "tfd:" lines of an epoll descriptor's fdinfo: the descriptors in its interest list. */
    private static List<String> epollTargets(int epfd) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/fdinfo/" + epfd)).stream().filter(l -> l.startsWith("tfd:")).toList();
    }

    // ------------------------------------------------------------------ Uring

    @Test
    void uringClosedWhileSubmittedToAndAwaitedNeverSubmitsToTheRingThatReusesItsNumber() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Linux.has(Feature.IO_URING), "io_uring is unavailable");
        race("Uring", new Subject<Uring>() {
            private int probeRing;

            @Override
            public Uring open() {
                return Uring.open(8);
            }

            @Override
            public Uring openProbe() {
                Uring[] probe = new Uring[1];
                probeRing = UringTest.newRingDescriptor(() -> probe[0] = Uring.open(8));
                return probe[0];
            }

            @Override
            public Set<Integer> numbers(Uring u) {
                return Set.of(u.fd());
            }

            @Override
            public void assertUntouched(Uring probe) throws IOException {
                assertThat(probe.inFlight()).isZero();
                assertThat(UringTest.sqTail(probeRing)).as("SQEs in the new ring").isZero();
            }
        }, List.of(
                u -> { // NOPs, each awaited
                    long cookie = 1L << 40;
                    try {
                        for (;;) {
                            try {
                                Completion c = u.submit(new Uring.Nop(cookie++)).get(LIMIT_SECONDS, TimeUnit.SECONDS);
                                assertThat(c.res()).isZero();
                            } catch (ExecutionException failed) {
                                expectClosed(failed);
                            }
                        }
                    } catch (IllegalStateException closed) {
                        expectClosed(closed);
                    }
                },
                u -> { // a timeout that only close() ends
                    long cookie = 2L << 40;
                    try {
                        for (;;) {
                            try {
                                Completion c = u.submit(new Uring.Timeout(Duration.ofHours(1), cookie++)).get(LIMIT_SECONDS, TimeUnit.SECONDS);
                                throw new AssertionError("an hour's timeout completed with " + c);
                            } catch (ExecutionException failed) {
                                expectClosed(failed);
                            }
                        }
                    } catch (IllegalStateException closed) {
                        expectClosed(closed);
                    }
                },
                u -> { // a read of an eventfd nobody signals: holds a use of its descriptor until close() cancels it
                    try {
                        for (;;) {
                            try {
                                throw new AssertionError("read " + u.read(neverReady).get(LIMIT_SECONDS, TimeUnit.SECONDS) + " from an empty eventfd");
                            } catch (ExecutionException failed) {
                                expectClosed(failed);
                            }
                        }
                    } catch (IllegalStateException closed) {
                        expectClosed(closed);
                    }
                }));
        assertThat(neverReady.tryReadValue()).isZero();
    }

    // ------------------------------------------------------------------ the race

    /**
     * Runs the rounds. Racer threads live for the whole race and meet the main thread at two barriers per
     * round: start (the target is published) and end (each has seen the target closed).
     */
    private static <T extends AutoCloseable> void race(String name, Subject<T> subject, List<Racer<T>> racers) throws Exception {
        int rounds = Scale.raceIterations();
        int fds = Processes.fdCount();
        AtomicReference<T> current = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong round = new AtomicLong();
        CyclicBarrier start = new CyclicBarrier(racers.size() + 1);
        CyclicBarrier end = new CyclicBarrier(racers.size() + 1);
        ConcurrentLinkedQueue<AssertionError> failures = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < racers.size(); i++) {
            Racer<T> racer = racers.get(i);
            threads.add(Thread.ofPlatform().name(name + "-racer-" + i).start(() -> {
                try {
                    for (;;) {
                        start.await(LIMIT_SECONDS, TimeUnit.SECONDS);
                        if (stop.get()) return;
                        try {
                            racer.run(current.get());
                        } catch (Throwable t) {
                            failures.add(new AssertionError(Thread.currentThread().getName() + " in round " + round.get() + ": " + t, t));
                        }
                        end.await(LIMIT_SECONDS, TimeUnit.SECONDS);
                    }
                } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
                    // the main thread gave up on this race and reports why
                }
            }));
        }
        long began = System.nanoTime();
        int reused = 0;
        try {
            for (int r = 0; r < rounds; r++) {
                round.set(r);
                T target = subject.open();
                Set<Integer> numbers = subject.numbers(target);
                current.set(target);
                start.await(LIMIT_SECONDS, TimeUnit.SECONDS);
                for (int spin = ThreadLocalRandom.current().nextInt(4096); spin > 0; spin--) Thread.onSpinWait(); // close at a random point
                target.close();
                try (T probe = subject.openProbe()) {
                    if (!Collections.disjoint(numbers, subject.numbers(probe))) reused++;
                    try {
                        end.await(LIMIT_SECONDS, TimeUnit.SECONDS);
                    } catch (TimeoutException | BrokenBarrierException e) {
                        throw new AssertionError(name + " round " + r + ": a racer did not return within " + LIMIT_SECONDS + " s of close()"
                                + stacks(threads) + failures, e);
                    }
                    if (!failures.isEmpty()) throw failures.peek();
                    subject.assertUntouched(probe);
                }
            }
        } finally {
            stop.set(true);
            if (!start.isBroken() && failures.isEmpty()) {
                try {
                    start.await(LIMIT_SECONDS, TimeUnit.SECONDS);
                } catch (BrokenBarrierException | TimeoutException ignored) {
                    // racers already gone; joined below
                }
            } else {
                start.reset(); // racers waiting on it leave with BrokenBarrierException
                end.reset();
            }
            for (Thread t : threads) t.join(TimeUnit.SECONDS.toMillis(LIMIT_SECONDS));
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
        System.out.printf("%s close race: %d rounds in %d ms, %d racers; the next object got the closed one's descriptor number in %d rounds%n",
                name, rounds, millis, racers.size(), reused);
        assertThat(reused).as("rounds in which the kernel reused the closed descriptor's number").isPositive();
        assertThat(Processes.fdCountSettlingTo(fds)).as("open descriptors after the race").isEqualTo(fds);
    }

    /**
     * The one way a racer may stop: an IllegalStateException (or an IOException, failing a future) whose
     * message says "closed", or "cancelled" for a registration that close() cancelled.
     */
    private static void expectClosed(Throwable thrown) {
        Throwable t = thrown;
        while ((t instanceof ExecutionException || t instanceof CompletionException) && t.getCause() != null) t = t.getCause();
        if (t instanceof IllegalStateException || t instanceof IOException) {
            for (Throwable c = t; c != null; c = c.getCause()) {
                String message = String.valueOf(c.getMessage());
                if (message.contains("closed") || message.contains("cancelled")) return;
            }
        }
        throw new AssertionError("expected an exception saying \"closed\", got " + t, t);
    }

    private static String stacks(List<Thread> threads) {
        StringBuilder b = new StringBuilder();
        for (Thread t : threads) {
            b.append("\n").append(t.getName()).append(" (").append(t.getState()).append(")");
            for (StackTraceElement e : t.getStackTrace()) b.append("\n\tat ").append(e);
        }
        return b.append("\n").toString();
    }
}
