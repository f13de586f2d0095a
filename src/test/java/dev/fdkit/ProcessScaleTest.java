package dev.fdkit;

import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.linux.fdkit_h;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.fdkit.Processes.SIGCONT;
import static dev.fdkit.Processes.SIGKILL;
import static dev.fdkit.Processes.SIGSTOP;
import static dev.fdkit.Processes.await;
import static dev.fdkit.Processes.fdCount;
import static dev.fdkit.Processes.fdCountSettlingTo;
import static dev.fdkit.Processes.zombieChildren;
import static dev.fdkit.Processes.zombieChildrenAfter;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The kernel's pidfd selftests (tools/testing/selftests/pidfd/: pidfd_open_test.c, pidfd_wait.c,
 * pidfd_test.c) replayed through fdkit, and scale/hygiene runs: many processes, one poller thread, no zombie
 * and no descriptor left behind.
 */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProcessScaleTest {

    /** stdin from /dev/null (never the test JVM's own stdin, surefire's command channel), output inherited. */
    private static ProcessBuilder plain(String... argv) {
        return new ProcessBuilder(argv).redirectInput(Redirect.from(new File("/dev/null")))
                .redirectOutput(Redirect.INHERIT).redirectError(Redirect.INHERIT);
    }

    // ------------------------------------------------------------------ pidfd_open_test.c

    @Test
    void pidfdOpenOnSelfOnAChildAndOnInvalidArguments() throws Exception {
        int self = Syscalls.pidfdOpen((int) Processes.OUR_PID, 0);
        try {
            assertThat(fdinfoPid(self)).isEqualTo(Processes.OUR_PID);
            assertThat(Syscalls.fcntl(self, fdkit_h.F_GETFD(), 0) & fdkit_h.FD_CLOEXEC()).as("pidfds are close-on-exec").isNotZero();
        } finally {
            Syscalls.close(self);
        }
        try (ProcessDescriptor child = ProcessDescriptor.start(plain("sleep", "30"), SpawnOption.KILL_ON_CLOSE)) {
            int fd = child.descriptor().acquire();
            try {
                assertThat(fdinfoPid(fd)).isEqualTo(child.pid());
            } finally {
                child.descriptor().release();
            }
        }
        assertThatThrownBy(() -> Syscalls.pidfdOpen(-1, 0)).isInstanceOf(SyscallException.class).hasMessageContaining("EINVAL");
        assertThatThrownBy(() -> Syscalls.pidfdOpen((int) Processes.OUR_PID, 1 << 30)).as("unknown flag")
                .isInstanceOf(SyscallException.class).hasMessageContaining("EINVAL");
        long unused = Processes.unusedPid();
        assertThatThrownBy(() -> Syscalls.pidfdOpen((int) unused, 0)).isInstanceOf(SyscallException.class).hasMessageContaining("ESRCH");
    }

    private static long fdinfoPid(int fd) throws Exception {
        return Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd)).stream().filter(l -> l.startsWith("Pid:"))
                .mapToLong(l -> Long.parseLong(l.substring(4).trim())).findFirst().orElseThrow();
    }

    // ------------------------------------------------------------------ pidfd_wait.c: wait_states

    @Test
    void waitidOnThePidfdSeesStopThenContinueThenKill() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(plain("sleep", "30"))) {
            CompletableFuture<ExitStatus> exit = p.onExit();

            assertThat(p.signal(SIGSTOP)).isTrue();
            Syscalls.WaitResult stopped = waitidPidfd(p, fdkit_h.WSTOPPED());
            assertThat(stopped.pid()).isEqualTo(p.pid());
            assertThat(stopped.code()).isEqualTo(fdkit_h.CLD_STOPPED());
            assertThat(stopped.status()).isEqualTo(SIGSTOP);
            ExitStatus asStatus = WaitStatus.fromWaitid(stopped);
            assertThat(asStatus.kind()).isEqualTo(ExitStatus.Kind.STOPPED);
            assertThat(asStatus.signal()).isEqualTo(SIGSTOP);
            assertThat(p.isAlive()).as("a stopped process has not exited: its pidfd is not readable").isTrue();
            assertThat(exit).isNotDone();

            assertThat(p.signal(SIGCONT)).isTrue();
            Syscalls.WaitResult continued = waitidPidfd(p, fdkit_h.WCONTINUED());
            assertThat(continued.code()).isEqualTo(fdkit_h.CLD_CONTINUED());
            assertThat(continued.status()).isEqualTo(SIGCONT);
            assertThat(WaitStatus.fromWaitid(continued).kind()).isEqualTo(ExitStatus.Kind.CONTINUED);
            assertThat(exit).isNotDone();

            assertThat(p.kill()).isTrue();
            ExitStatus killed = await(exit, 5);
            assertThat(killed.kind()).isEqualTo(ExitStatus.Kind.KILLED);
            assertThat(killed.signal()).isEqualTo(SIGKILL);
        }
        assertThat(zombieChildren()).isEmpty();
    }

    @Test
    void aChildThatStopsItselfAndIsContinuedExitsNormally() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(plain("/bin/sh", "-c", "kill -STOP $$; exit 3"))) {
            // WNOWAIT: look without consuming; the stop stays reportable (a second look sees it again)
            Syscalls.WaitResult first = waitidPidfd(p, fdkit_h.WSTOPPED() | fdkit_h.WNOWAIT());
            Syscalls.WaitResult again = waitidPidfd(p, fdkit_h.WSTOPPED());
            assertThat(first.code()).isEqualTo(fdkit_h.CLD_STOPPED());
            assertThat(again).isEqualTo(first);
            assertThat(p.signal(SIGCONT)).isTrue();
            ExitStatus status = await(p.onExit(), 5);
            assertThat(status.kind()).isEqualTo(ExitStatus.Kind.EXITED);
            assertThat(status.code()).isEqualTo(3);
        }
    }

    /** waitid(P_PIDFD) for a stop or continue, polled with WNOHANG so that a failure cannot hang the test. */
    private static Syscalls.WaitResult waitidPidfd(ProcessDescriptor p, int options) throws Exception {
        int fd = p.descriptor().acquire();
        try {
            java.util.concurrent.atomic.AtomicReference<Syscalls.WaitResult> result = new java.util.concurrent.atomic.AtomicReference<>();
            boolean changed = Processes.awaitCondition(Duration.ofSeconds(5), () -> {
                try {
                    result.set(Syscalls.waitid(fdkit_h.P_PIDFD(), fd, options | fdkit_h.WNOHANG(), false));
                } catch (dev.fdkit.internal.SyscallException e) {
                    throw new AssertionError(e);
                }
                return result.get() != null;
            });
            if (!changed) throw new AssertionError("no state change within 5 s (options 0x" + Integer.toHexString(options) + ")");
            return result.get();
        } finally {
            p.descriptor().release();
        }
    }

    // ------------------------------------------------------------------ pidfd_test.c: spawn, SIGKILL, poll readable

    /**
     * The selftest runs 10,000 rounds. Here each round is a posix_spawn of sleep, pidfd_send_signal(SIGKILL)
     * and the poller seeing the pidfd readable and reaping; the rounds stop at 10,000 or after 20 s, whichever
     * comes first (a 2-core machine does the 10,000; a slower CI runner stops earlier and says so).
     */
    @Test
    void spawnKillAndExitNotificationRoundsKeepWorking() throws Exception {
        int target = 10_000;
        long budget = TimeUnit.SECONDS.toNanos(20);
        int fds = fdCount();
        long start = System.nanoTime();
        int rounds = 0;
        while (rounds < target && System.nanoTime() - start < budget) {
            try (ProcessDescriptor p = ProcessDescriptor.start(plain("sleep", "30"))) {
                assertThat(p.kill()).isTrue();
                ExitStatus status = await(p.onExit(), 5);
                if (status.kind() != ExitStatus.Kind.KILLED || status.signal() != SIGKILL) {
                    throw new AssertionError("round " + rounds + ": " + status);
                }
            }
            rounds++;
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        System.out.printf("spawn -> SIGKILL -> onExit: %d rounds in %d ms (%.0f us per round)%n", rounds, millis, millis * 1000.0 / rounds);
        assertThat(rounds).as("rounds in the time budget").isGreaterThanOrEqualTo(1_000);
        assertThat(zombieChildren()).isEmpty();
        assertThat(fdCountSettlingTo(fds)).isEqualTo(fds);
    }

    // ------------------------------------------------------------------ scale

    @Test
    void aThousandConcurrentChildrenAreWatchedByABoundedNumberOfThreads() throws Exception {
        int fds = fdCount();
        int baseline = liveThreads();
        List<ProcessDescriptor> children = new ArrayList<>();
        List<CompletableFuture<ExitStatus>> exits = new ArrayList<>();
        long start = System.nanoTime();
        try {
            int peak = baseline;
            for (int i = 0; i < 1000; i++) {
                ProcessDescriptor p = ProcessDescriptor.start(plain("sleep", "2"));
                children.add(p);
                exits.add(p.onExit());
                if (i % 100 == 99) peak = Math.max(peak, liveThreads());
            }
            long spawnMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            long alive = children.stream().filter(ProcessDescriptor::isAlive).count();
            peak = Math.max(peak, liveThreads());
            System.out.printf("1000 sleepers spawned in %d ms; %d alive; JVM threads %d -> %d; fds %d -> %d%n",
                    spawnMillis, alive, baseline, peak, fds, fdCount());
            // On a loaded machine spawning can take longer than the sleep: then the first ones have exited.
            if (spawnMillis < 1500) assertThat(alive).as("all running at once").isEqualTo(1000);
            assertThat(peak - baseline).as("threads added while watching up to 1000 children").isLessThanOrEqualTo(2);

            CompletableFuture.allOf(exits.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
            for (CompletableFuture<ExitStatus> e : exits) assertThat(e.join().success()).isTrue();
            assertThat(liveThreads() - baseline).isLessThanOrEqualTo(2);
        } finally {
            for (ProcessDescriptor p : children) {
                p.kill();
                p.close();
            }
        }
        assertThat(zombieChildren()).isEmpty();
        assertThat(fdCountSettlingTo(fds)).isEqualTo(fds);
    }

    /** Live platform threads of the JVM (the test compiles as part of module dev.fdkit, without java.management). */
    private static int liveThreads() {
        return (int) Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).count();
    }

    @Test
    void twoThousandSpawnReapCyclesLeaveNoDescriptorAndNoZombie() throws Exception {
        try (ProcessDescriptor warm = ProcessDescriptor.start(new ProcessBuilder("true"))) {
            warm.waitFor();
        }
        int fds = fdCount();
        long start = System.nanoTime();
        for (int i = 0; i < 2000; i++) {
            // every other cycle with three pipes, which must be closed with the descriptor
            ProcessBuilder pb = i % 2 == 0 ? new ProcessBuilder("true") : plain("true");
            try (ProcessDescriptor p = ProcessDescriptor.start(pb)) {
                if (i % 2 == 0) assertThat(p.stdout().read()).isEqualTo(-1);
                ExitStatus status = p.waitFor();
                if (!status.success()) throw new AssertionError("cycle " + i + ": " + status);
            }
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        System.out.printf("2000 spawn/reap cycles of true: %d ms (%.0f us each)%n", millis, millis * 1000.0 / 2000);
        assertThat(zombieChildren()).isEmpty();
        assertThat(fdCountSettlingTo(fds)).isEqualTo(fds);
    }

    @Test
    void aDroppedKillOnCloseDescriptorKillsItsChildWhenCollected() throws Exception {
        CompletableFuture<ExitStatus> exit = ProcessDescriptor.start(plain("sleep", "30"), SpawnOption.KILL_ON_CLOSE).onExit();
        // the Cleaner closes a descriptor nobody references: pdfork's close-on-last-reference
        Processes.awaitCondition(Duration.ofSeconds(10), () -> {
            System.gc();
            return exit.isDone();
        });
        ExitStatus status = await(exit, 1);
        assertThat(status.kind()).isEqualTo(ExitStatus.Kind.KILLED);
        assertThat(status.signal()).isEqualTo(SIGKILL);
    }

    @Test
    void droppedDescriptorsStillHaveTheirChildrenReaped() throws Exception {
        int fds = fdCount();
        List<Long> pids = new ArrayList<>();
        for (int i = 0; i < 20; i++) pids.add(ProcessDescriptor.start(plain("sleep", "0.1")).pid()); // never closed
        // the poller reaps each at exit; the Cleaner closes the pidfds once the descriptors are collected
        Processes.awaitCondition(Duration.ofSeconds(10), () -> {
            System.gc();
            return pids.stream().noneMatch(pid -> Processes.stat(pid) != null) && fdCount() == fds;
        });
        assertThat(pids).allSatisfy(pid -> assertThat(Processes.stat(pid)).as("pid " + pid + " reaped").isNull());
        assertThat(zombieChildrenAfter(Duration.ZERO)).isEmpty();
        assertThat(fdCount()).isEqualTo(fds);
    }
}
