package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Blocking fdkit calls made on the shared poller's thread (onExit dependents, handlers) work as they do with
 * java.lang.Process, and every other wait in the JVM keeps working meanwhile and afterwards. Before the
 * hand-off these hung for good, and with them every later exit in the JVM.
 */
@ExtendWith(LeakGuard.class)
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PollerBlockingCallbackTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** How an onExit dependent of one process waits for another: both as code may do with java.lang.Process. */
    enum BlockingWait {
        WAIT_FOR {
            @Override
            int await(ProcessDescriptor other) throws InterruptedException {
                return other.waitFor().code();
            }
        },
        JOIN_ON_EXIT {
            @Override
            int await(ProcessDescriptor other) {
                return other.onExit().join().code();
            }
        };

        abstract int await(ProcessDescriptor other) throws InterruptedException;
    }

    @ParameterizedTest
    @EnumSource(BlockingWait.class)
    void anOnExitDependentMayWaitForAnotherProcessWhileEveryOtherExitIsStillNoticed(BlockingWait how) throws Exception {
        try (ProcessDescriptor a = ProcessDescriptor.start(exitsAtEndOfStdin(0)); ProcessDescriptor b = ProcessDescriptor.start(exitsAtEndOfStdin(7))) {
            CountDownLatch dependentStarted = new CountDownLatch(1);
            CompletableFuture<Integer> bSeenFromA = a.onExit().thenApply(s -> {
                dependentStarted.countDown();
                try {
                    return how.await(b); // fdkit hung here, and with it every later exit in the JVM
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            a.stdin().close(); // a exits after the dependent is attached: it runs on the poller thread
            assertThat(dependentStarted.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            exitsStillNoticedElsewhere();
            b.stdin().close();
            assertThat(bSeenFromA).succeedsWithin(WAIT).isEqualTo(7);
        }
        exitsStillNoticedElsewhere();
        awaitOnePollerThread();
    }

    @Test
    void blockingEventFdReadInsideASharedPollerHandlerReturns() throws Exception {
        try (EventFd trigger = EventFd.open(); EventFd value = EventFd.open(); EventFd other = EventFd.open()) {
            CountDownLatch handlerBlocking = new CountDownLatch(1);
            AtomicReference<Long> read = new AtomicReference<>();
            CountDownLatch handlerDone = new CountDownLatch(1);
            Poller.Registration r = Poller.shared().register(trigger, Poller.READABLE, Poller.Trigger.ONE_SHOT, (reg, events) -> {
                trigger.tryReadValue();
                handlerBlocking.countDown();
                try {
                    read.set(value.read()); // parks until signalled: the shared poller must keep polling meanwhile
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                handlerDone.countDown();
            });
            // While it blocks, other registrations are served.
            CountDownLatch otherRan = new CountDownLatch(1);
            Poller.Registration o = Poller.shared().register(other, Poller.READABLE, (reg, events) -> {
                other.tryReadValue();
                otherRan.countDown();
            });
            trigger.signal(1);
            assertThat(handlerBlocking.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            other.signal(1);
            assertThat(otherRan.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("another registration served while a handler blocks").isTrue();
            value.signal(42);
            assertThat(handlerDone.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            assertThat(read.get()).isEqualTo(42L);
            r.cancel();
            o.cancel();
        }
        awaitOnePollerThread();
    }

    /**
     * A level-triggered registration whose handler blocks without consuming its readiness neither spins the
     * new loop thread nor runs twice at once; its handler runs again after it returns, while still readable.
     */
    @Test
    void levelTriggeredHandlerThatBlocksIsNotRunAgainUntilItReturns() throws Exception {
        try (EventFd level = EventFd.open(); EventFd release = EventFd.open(); EventFd other = EventFd.open()) {
            AtomicInteger concurrent = new AtomicInteger();
            AtomicInteger maxConcurrent = new AtomicInteger();
            AtomicInteger runs = new AtomicInteger();
            CountDownLatch firstRunBlocking = new CountDownLatch(1);
            CountDownLatch drained = new CountDownLatch(1);
            Poller.Registration r = Poller.shared().register(level, Poller.READABLE, (reg, events) -> {
                maxConcurrent.accumulateAndGet(concurrent.incrementAndGet(), Math::max);
                try {
                    if (runs.incrementAndGet() == 1) {
                        firstRunBlocking.countDown();
                        release.read(); // still readable: without muting, the new loop thread would report it on every epoll_wait
                    } else if (level.tryReadValue() != 0) {
                        drained.countDown();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    concurrent.decrementAndGet();
                }
            });
            AtomicInteger otherRuns = new AtomicInteger();
            CountDownLatch otherRan = new CountDownLatch(3);
            Poller.Registration o = Poller.shared().register(other, Poller.READABLE, (reg, events) -> {
                other.tryReadValue();
                otherRuns.incrementAndGet();
                otherRan.countDown();
            });
            level.signal(1);
            assertThat(firstRunBlocking.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            for (int i = 0; i < 3; i++) {
                int before = otherRuns.get();
                other.signal(1);
                while (otherRuns.get() == before) Thread.onSpinWait(); // bounded by @Timeout
            }
            assertThat(runs.get()).as("blocked level-triggered handler was not run again meanwhile").isEqualTo(1);
            release.signal(1);
            assertThat(drained.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("runs again once it returned, still readable").isTrue();
            assertThat(maxConcurrent.get()).isEqualTo(1);
            r.cancel();
            o.cancel();
        }
        awaitOnePollerThread();
    }

    private static ProcessBuilder exitsAtEndOfStdin(int code) {
        return new ProcessBuilder("sh", "-c", "cat >/dev/null; exit " + code);
    }

    /** Any process's exit is still noticed: a fresh child's waitFor(timeout) returns its status. */
    private static void exitsStillNoticedElsewhere() throws Exception {
        try (ProcessDescriptor c = ProcessDescriptor.spawn("true")) {
            Optional<ExitStatus> status = c.waitFor(WAIT);
            assertThat(status).as("exit of an unrelated process noticed").isPresent();
            assertThat(status.get().code()).isZero();
        }
    }

    /** The thread that blocked ends once its callback returned: one fdkit-poller thread again. */
    static void awaitOnePollerThread() throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        List<Thread> pollers;
        while ((pollers = pollerThreads()).size() != 1 && System.nanoTime() < deadline) {
            for (Thread t : pollers) t.join(10);
        }
        assertThat(pollerThreads()).hasSize(1);
    }

    private static List<Thread> pollerThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).filter(LeakGuard::isSharedPollerThread).toList();
    }
}
