package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.lang.ProcessBuilder.Redirect;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * close() against the process's exit against waitFor(), on real processes: each round races them on
 * threads released together. (Not a jcstress test: a spawn costs about a millisecond, so a few hundred
 * rounds are what fits in a test run, against jcstress's millions of samples.) Whatever the order: waitFor
 * returns the status (or, for a process that is not our child, reports that close() ended the watch),
 * never hangs; onExit agrees with it; the pidfd is closed by the time both calls have returned; our
 * children are reaped.
 */
@ExtendWith(ProcessWarmUp.class)
@ExtendWith(LeakGuard.class)
@Timeout(120)
class ProcessDescriptorRaceTest {
    private static final int ROUNDS = 100;
    private static final Duration BOUND = Duration.ofSeconds(10);
    private static final String PIDFD = "anon_inode:[pidfd]";

    @Test
    void childExitRacingWithCloseWaitForAndTerminate() throws Throwable {
        int pidfds = LeakGuard.descriptorsLinkingTo(PIDFD).size();
        Map<String, Integer> seen = new TreeMap<>();
        for (int round = 0; round < ROUNDS; round++) {
            ProcessDescriptor p = ProcessDescriptor.start(quiet("true"));
            AtomicReference<Optional<ExitStatus>> waited = new AtomicReference<>();
            AtomicReference<String> terminate = new AtomicReference<>();
            race(p::close,
                    () -> waited.set(p.waitFor(BOUND)),
                    () -> {
                        try {
                            terminate.set(p.terminate() ? "sent" : "already exited");
                        } catch (IllegalStateException closed) {
                            terminate.set("closed");
                        }
                    });
            ExitStatus status = waited.get().orElseThrow(() -> new AssertionError("waitFor timed out on " + p));
            if (terminate.get().equals("already exited")) assertThat(status.kind()).isEqualTo(ExitStatus.Kind.EXITED);
            assertThat(describe(status)).isIn("exited 0", "killed 15");
            assertThat(Processes.await(p.onExit(), 10)).isEqualTo(status);
            assertThat(LeakGuard.descriptorsLinkingTo(PIDFD)).as("pidfd closed once close and waitFor returned").hasSize(pidfds);
            assertNotOurZombie(p.pid());
            seen.merge(describe(status) + ", terminate " + terminate.get(), 1, Integer::sum);
        }
        System.out.println("childExitRacingWithCloseWaitForAndTerminate: " + seen);
    }

    /**
     * The exit watch's WATCHING -> EXITED transition against every reader: waitFor on two platform threads (each
     * polling the pidfd, either may reap) and on a virtual thread (parked on the poller's look), onExit and isAlive
     * agree on one status, a status is never reaped twice (a second waitid would fail: "waiting failed"), and
     * isAlive is false from the moment any of them has the status.
     */
    @Test
    void waitForOnExitAndIsAliveAgreeOnOneExitWhileCloseRaces() throws Throwable {
        for (int round = 0; round < ROUNDS; round++) {
            ProcessDescriptor p = ProcessDescriptor.start(quiet("sh", "-c", "exit 7"));
            List<AtomicReference<Optional<ExitStatus>>> waited = List.of(new AtomicReference<>(), new AtomicReference<>(), new AtomicReference<>());
            AtomicReference<ExitStatus> onExit = new AtomicReference<>();
            AtomicReference<String> aliveAfterExit = new AtomicReference<>("");
            race(p::close,
                    () -> waitForThenIsAlive(p, waited.get(0), aliveAfterExit),
                    () -> waitForThenIsAlive(p, waited.get(1), aliveAfterExit),
                    () -> {
                        Thread virtual = Thread.ofVirtual().start(() -> {
                            try {
                                waitForThenIsAlive(p, waited.get(2), aliveAfterExit);
                            } catch (InterruptedException e) {
                                throw new IllegalStateException(e);
                            }
                        });
                        if (!virtual.join(BOUND.multipliedBy(2))) throw new AssertionError("virtual waiter still running");
                    },
                    () -> {
                        onExit.set(p.onExit().get(BOUND.toSeconds(), java.util.concurrent.TimeUnit.SECONDS));
                        if (p.isAlive()) aliveAfterExit.set("isAlive true after onExit completed");
                    });
            ExitStatus status = waited.get(0).get().orElseThrow(() -> new AssertionError("waitFor timed out on " + p));
            assertThat(describe(status)).isEqualTo("exited 7");
            for (AtomicReference<Optional<ExitStatus>> w : waited) assertThat(w.get()).as("every waiter, of " + p).contains(status);
            assertThat(onExit.get()).isEqualTo(status);
            assertThat(aliveAfterExit.get()).isEmpty();
            assertNotOurZombie(p.pid());
        }
    }

    private static void waitForThenIsAlive(ProcessDescriptor p, AtomicReference<Optional<ExitStatus>> waited, AtomicReference<String> aliveAfterExit)
            throws InterruptedException {
        waited.set(p.waitFor(BOUND));
        if (p.isAlive()) aliveAfterExit.set("isAlive true after waitFor returned on " + Thread.currentThread());
    }

    @Test
    void killOnCloseRacingWithWaitFor() throws Throwable {
        int pidfds = LeakGuard.descriptorsLinkingTo(PIDFD).size();
        for (int round = 0; round < ROUNDS; round++) {
            ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "30"), SpawnOption.KILL_ON_CLOSE);
            AtomicReference<Optional<ExitStatus>> waited = new AtomicReference<>();
            race(p::close, () -> waited.set(p.waitFor(BOUND)));
            ExitStatus status = waited.get().orElseThrow(() -> new AssertionError("waitFor timed out: close did not kill " + p));
            assertThat(describe(status)).isEqualTo("killed 9");
            assertThat(LeakGuard.descriptorsLinkingTo(PIDFD)).as("pidfd closed once close and waitFor returned").hasSize(pidfds);
            assertNotOurZombie(p.pid());
        }
    }

    @Test
    void nonChildExitRacingWithCloseAndWaitFor() throws Throwable {
        int pidfds = LeakGuard.descriptorsLinkingTo(PIDFD).size();
        Map<String, Integer> seen = new TreeMap<>();
        for (int round = 0; round < ROUNDS; round++) {
            Process jdkChild = quiet("sleep", "30").start(); // the JDK's child: it reaps it, we only watch
            ProcessDescriptor p = ProcessDescriptor.of(jdkChild.toHandle());
            AtomicReference<String> outcome = new AtomicReference<>();
            race(p::close,
                    jdkChild::destroyForcibly,
                    () -> {
                        try {
                            outcome.set(p.waitFor(BOUND).map(ProcessDescriptorRaceTest::describe).orElse("timed out"));
                        } catch (CancellationException e) {
                            outcome.set("cancelled by close"); // watching had started: close() ended it
                        } catch (IllegalStateException e) {
                            outcome.set("closed before waitFor"); // not watched yet: a closed descriptor starts no watch
                        }
                    });
            assertThat(outcome.get()).isIn("killed 9", "cancelled by close", "closed before waitFor");
            assertThat(LeakGuard.descriptorsLinkingTo(PIDFD)).as("pidfd closed once close and waitFor returned").hasSize(pidfds);
            assertThat(jdkChild.waitFor(BOUND.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            seen.merge(outcome.get(), 1, Integer::sum);
        }
        System.out.println("nonChildExitRacingWithCloseAndWaitFor: " + seen);
        assertThat(Processes.zombieChildrenAfter(Duration.ofSeconds(5))).isEmpty();
    }

    private static ProcessBuilder quiet(String... command) {
        return new ProcessBuilder(command).redirectInput(Redirect.from(new File("/dev/null")))
                .redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD);
    }

    private static String describe(ExitStatus status) {
        return switch (status.kind()) {
            case EXITED -> "exited " + status.code();
            case KILLED -> "killed " + status.signal();
            default -> status.toString();
        };
    }

    /** Reaped: gone, or (its pid reused meanwhile) not a zombie of ours. */
    private static void assertNotOurZombie(long pid) {
        Processes.Stat s = Processes.stat(pid);
        assertThat(s == null || s.state() != 'Z' || s.ppid() != Processes.OUR_PID).as("pid %d reaped", pid).isTrue();
    }

    @FunctionalInterface
    private interface Action {
        void run() throws Exception;
    }

    /** Runs the actions on their own threads, released together; rethrows the first failure; fails after 30 s. */
    private static void race(Action... actions) throws Throwable {
        CountDownLatch start = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (Action action : actions) {
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    action.run();
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
        }
        start.countDown();
        for (Thread t : threads) {
            if (!t.join(Duration.ofSeconds(30))) throw new AssertionError(t + " still running after 30 s");
        }
        if (failure.get() != null) throw failure.get();
    }
}
