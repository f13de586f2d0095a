package dev.fdkit;

import dev.fdkit.internal.Syscalls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.lang.ProcessBuilder.Redirect;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static dev.fdkit.Processes.SIGKILL;
import static dev.fdkit.Processes.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * waitFor() on a platform thread, for our child, blocks in poll(2) on the pidfd and reaps on the calling thread
 * (ExitWatch.await): the status it returns is the one onExit() completes with, it does not need the shared
 * poller's thread, and it still answers Thread.interrupt() within a slice. Timeouts and the many-thread race are
 * in ProcessDescriptorWatchTest and ProcessDescriptorRaceTest.
 */
@ExtendWith(ProcessWarmUp.class)
@ExtendWith(LeakGuard.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WaitForOnPidfdTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static ProcessBuilder quiet(String... argv) {
        return new ProcessBuilder(argv).redirectInput(Redirect.from(new File("/dev/null")))
                .redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD);
    }

    @Test
    void waitForOnAPlatformThreadReturnsTheStatusThatOnExitCompletesWith() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sh", "-c", "sleep 0.1; exit 42"))) {
            CompletableFuture<ExitStatus> onExit = p.onExit();
            ExitStatus status = p.waitFor();
            assertThat(status.kind()).isEqualTo(ExitStatus.Kind.EXITED);
            assertThat(status.code()).isEqualTo(42);
            assertThat(status.resourceUsage()).as("reaped with its resource usage").isPresent();
            assertThat(p.isAlive()).isFalse();
            assertThat(await(onExit, 10)).isSameAs(status);
            assertThat(p.waitFor(Duration.ZERO)).contains(status);
            Processes.Stat s = Processes.stat(p.pid());
            assertThat(s == null || s.state() != 'Z' || s.ppid() != Processes.OUR_PID).as("reaped, not a zombie").isTrue();
        }
    }

    /**
     * The shared poller's loop thread is stalled on purpose (a handler in a plain latch wait, which does not hand
     * the loop on): the poller cannot see any exit. waitFor on a platform thread still returns the child's exit
     * promptly, since it waits on the pidfd itself, and completes onExit() too, having reaped the child. Through
     * the poller (as before) it timed out.
     */
    @Test
    void waitForReturnsTheExitWhileTheSharedPollerIsStalled() throws Exception {
        CountDownLatch stalled = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (EventFd trigger = EventFd.open()) {
            Poller.Registration stall = Poller.shared().register(trigger, Poller.READABLE, Poller.Trigger.ONE_SHOT, (r, events) -> {
                stalled.countDown();
                try {
                    release.await(WAIT.toSeconds() * 3, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            try {
                trigger.signal(1);
                assertThat(stalled.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the poller's loop is stalled").isTrue();
                try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sh", "-c", "exit 5"))) {
                    CompletableFuture<ExitStatus> onExit = p.onExit();
                    Optional<ExitStatus> status = p.waitFor(Duration.ofSeconds(5));
                    assertThat(status).as("waitFor while the poller cannot look").hasValueSatisfying(s -> assertThat(s.code()).isEqualTo(5));
                    assertThat(onExit).as("completed by the thread that reaped, not the stalled poller").isCompletedWithValue(status.get());
                    assertThat(p.isAlive()).isFalse();
                }
            } finally {
                release.countDown();
            }
            stall.cancel();
        }
    }

    /**
     * poll(2) does not see Thread.interrupt(): the waiter looks between slices, so the interrupt is answered within
     * one (50 ms), and the exit is not lost: the next waitFor and onExit() get it.
     */
    @Test
    void anInterruptWhileBlockedOnThePidfdThrowsPromptlyAndTheStatusIsKept() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "30"))) {
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread waiter = Thread.ofPlatform().start(() -> {
                try {
                    outcome.set(p.waitFor());
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            assertThat(Processes.awaitCondition(WAIT, () -> blockedInPoll(waiter))).as("waiter blocked in poll(2)").isTrue();
            long interruptedAt = System.nanoTime();
            waiter.interrupt();
            assertThat(waiter.join(Duration.ofSeconds(2))).as("waitFor answered the interrupt within 2 s").isTrue();
            System.out.printf("interrupt answered in %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - interruptedAt));
            assertThat(outcome.get()).isInstanceOf(InterruptedException.class);
            assertThat(p.isAlive()).isTrue();

            p.kill();
            ExitStatus status = p.waitFor();
            assertThat(status.signal()).isEqualTo(SIGKILL);
            assertThat(await(p.onExit(), 10)).isEqualTo(status);
        }
    }

    /** As CompletableFuture.get: interrupted on entry, a wait that would block throws; a known exit is returned. */
    @Test
    void anInterruptedThreadGetsInterruptedExceptionWhileRunningAndTheStatusOnceExited() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "30"))) {
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread.ofPlatform().start(() -> {
                Thread.currentThread().interrupt();
                try {
                    outcome.set(p.waitFor(WAIT));
                } catch (Throwable t) {
                    outcome.set(t);
                }
            }).join(WAIT);
            assertThat(outcome.get()).isInstanceOf(InterruptedException.class);
            p.kill();
            ExitStatus status = p.waitFor();
            Thread.currentThread().interrupt();
            try {
                assertThat(p.waitFor()).isSameAs(status);
                assertThat(Thread.interrupted()).as("the interrupt stays pending").isTrue();
            } finally {
                Thread.interrupted();
            }
        }
    }

    private static boolean blockedInPoll(Thread t) {
        return Arrays.stream(t.getStackTrace())
                .anyMatch(f -> f.getClassName().equals(Syscalls.class.getName()) && f.getMethodName().equals("poll"));
    }
}
