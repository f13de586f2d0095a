package dev.fdkit;

import dev.fdkit.internal.Syscalls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.ProcessBuilder.Redirect;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static dev.fdkit.Processes.SIGKILL;
import static dev.fdkit.Processes.SIGTERM;
import static dev.fdkit.Processes.await;
import static dev.fdkit.Processes.readAll;
import static dev.fdkit.Processes.zombieChildrenAfter;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

/** Watching, signalling and reading processes: children and processes fdkit did not start. */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProcessDescriptorWatchTest {

    private static ProcessBuilder sh(String script) {
        return new ProcessBuilder("/bin/sh", "-c", script);
    }

    private static ProcessBuilder quiet(String... argv) {
        return new ProcessBuilder(argv).redirectInput(Redirect.PIPE).redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD);
    }

    /**
     * A java.lang.Process whose shell prints the pid of a background job it then waits for: that job is
     * neither our child nor fdkit's, and its parent (the shell) reaps it.
     */
    private record Grandchild(Process shell, long pid) {}

    private static Grandchild grandchild(String job) throws IOException {
        Process shell = new ProcessBuilder("/bin/sh", "-c", job + " & echo $!; wait").redirectErrorStream(true).start();
        String line = new BufferedReader(new InputStreamReader(shell.getInputStream(), StandardCharsets.UTF_8)).readLine();
        return new Grandchild(shell, Long.parseLong(line.strip()));
    }

    // ------------------------------------------------------------------ processes that are not our children

    @Test
    void openWatchesAProcessThatIsNotOurChild() throws Exception {
        Grandchild g = grandchild("sleep 0.3");
        try (ProcessDescriptor p = ProcessDescriptor.open(g.pid())) {
            assertThat(p.pid()).isEqualTo(g.pid());
            assertThat(p.isChild()).isFalse();
            assertThat(p.isAlive()).isTrue();
            ExitStatus status = await(p.onExit(), 10);
            if (Linux.has(Feature.PIDFD_INFO_EXIT)) {
                assertThat(status.kind()).isEqualTo(ExitStatus.Kind.EXITED);
                assertThat(status.code()).isZero();
            } else {
                assertThat(status.kind()).isEqualTo(ExitStatus.Kind.UNKNOWN);
                assertThat(status.detail()).contains("PIDFD_INFO_EXIT");
            }
            assertThat(status.resourceUsage()).as("rusage is the parent's to collect").isEmpty();
            assertThat(p.isAlive()).isFalse();
        } finally {
            assertThat(g.shell().waitFor()).isZero();
        }
    }

    @Test
    void exitCodeOfANonChildComesFromPidfdInfoExit() throws Exception {
        assumeThat(Linux.has(Feature.PIDFD_INFO_EXIT)).as(Linux.feature(Feature.PIDFD_INFO_EXIT).cause()).isTrue();
        Grandchild g = grandchild("(sleep 0.3; exit 42)");
        try (ProcessDescriptor p = ProcessDescriptor.open(g.pid())) {
            ExitStatus status = await(p.onExit(), 10);
            assertThat(status.kind()).isEqualTo(ExitStatus.Kind.EXITED);
            assertThat(status.code()).isEqualTo(42);
        } finally {
            g.shell().waitFor();
        }
        // ...and a non-child killed by a signal
        Grandchild killed = grandchild("sleep 30");
        try (ProcessDescriptor p = ProcessDescriptor.open(killed.pid())) {
            CompletableFuture<ExitStatus> exit = p.onExit();
            assertThat(p.terminate()).isTrue();
            ExitStatus status = await(exit, 10);
            assertThat(status.kind()).isEqualTo(ExitStatus.Kind.KILLED);
            assertThat(status.signal()).isEqualTo(SIGTERM);
        } finally {
            killed.shell().waitFor();
        }
    }

    @Test
    void openingANonexistentPidFailsWithEsrch() throws Exception {
        long pid = Processes.unusedPid();
        assertThatThrownBy(() -> ProcessDescriptor.open(pid))
                .isInstanceOf(ErrnoException.class)
                .hasMessageContaining("pidfd_open(pid=" + pid)
                .hasMessageContaining("ESRCH")
                .satisfies(e -> assertThat(((ErrnoException) e).errnoName()).isEqualTo("ESRCH"));
    }

    @Test
    void openingPidZeroOrNegativeIsIllegal() {
        for (long pid : new long[] {0, -1, Long.MIN_VALUE, 1L + Integer.MAX_VALUE}) {
            assertThatThrownBy(() -> ProcessDescriptor.open(pid)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pid");
        }
    }

    @Test
    void openingAThreadIdSaysItIsAThreadAndNamesItsProcess() throws Exception {
        long self = ProcessHandle.current().pid();
        long thread = Processes.referenceHandlerTid();
        assertThat(thread).isNotEqualTo(self);
        assertThatThrownBy(() -> ProcessDescriptor.open(thread)).isInstanceOf(ErrnoException.class)
                .hasMessageContaining("pid=" + thread + ", which is a thread of process " + self + ", not a process");
    }

    @Test
    void ofOurOwnProcessHandleIsAliveAndSignalable() throws Exception {
        try (ProcessDescriptor self = ProcessDescriptor.of(ProcessHandle.current())) {
            assertThat(self.pid()).isEqualTo(ProcessHandle.current().pid());
            assertThat(self.isChild()).isFalse();
            assertThat(self.isAlive()).isTrue();
            assertThat(self.signal(0)).as("signal 0 only checks").isTrue();
            assertThat(self.descriptor().isClosed()).isFalse();
        }
    }

    @Test
    void ofAJavaLangProcessHandleWatchesItsExit() throws Exception {
        Process jdk = new ProcessBuilder("sh", "-c", "exit 5").start();
        try (ProcessDescriptor p = ProcessDescriptor.of(jdk.toHandle())) {
            ExitStatus status = await(p.onExit(), 10);
            // the JDK reaps it: WNOWAIT may still see the zombie (exact status), or PIDFD_INFO_EXIT reports it
            if (status.kind() != ExitStatus.Kind.UNKNOWN || Linux.has(Feature.PIDFD_INFO_EXIT)) {
                assertThat(status.kind()).isEqualTo(ExitStatus.Kind.EXITED);
                assertThat(status.code()).isEqualTo(5);
            }
        } catch (ErrnoException alreadyReaped) {
            assertThat(alreadyReaped.errnoName()).isEqualTo("ESRCH"); // the JDK was quicker than our open
        }
        assertThat(jdk.waitFor()).isEqualTo(5);
    }

    @Test
    void closingAWatchedNonChildLetsGoOfItsPidfdAtOnceAndCancelsItsExitFuture() throws Exception {
        // The watchdog loop: open, wait a while, close, again -- for a process that outlives all of it.
        Process jdk = new ProcessBuilder("/bin/sleep", "600").start();
        try {
            int before = LeakGuard.openDescriptorCount();
            List<CompletableFuture<ExitStatus>> exits = new ArrayList<>();
            for (int round = 0; round < 50; round++) {
                try (ProcessDescriptor p = ProcessDescriptor.of(jdk.toHandle())) {
                    exits.add(p.onExit());
                    assertThat(p.waitFor(Duration.ofMillis(1))).isEmpty();
                }
            }
            assertThat(LeakGuard.openDescriptorCount()).as("no pidfd kept per round").isEqualTo(before);
            for (CompletableFuture<ExitStatus> exit : exits) {
                assertThat(exit).isCompletedExceptionally();
                assertThatThrownBy(exit::join).hasCauseInstanceOf(java.util.concurrent.CancellationException.class)
                        .hasMessageContaining("closed before the process exited");
            }
        } finally {
            jdk.getOutputStream().close();
            jdk.destroyForcibly().waitFor();
        }
    }

    /**
     * Regression: toString() joined the exit future that close() had cancelled, and waitFor() threw an
     * undocumented CancellationException. Now: toString says closed, waitFor throws IllegalStateException,
     * also for a wait parked when close() runs.
     */
    @Test
    void waitingOnAClosedNonChildDescriptorThrowsIllegalStateAndToStringSaysClosed() throws Exception {
        Process jdk = new ProcessBuilder("/bin/sleep", "600").start();
        try {
            ProcessDescriptor p = ProcessDescriptor.of(jdk.toHandle());
            CompletableFuture<Throwable> parked = new CompletableFuture<>();
            Thread waiter = Thread.ofPlatform().start(() -> {
                try {
                    p.waitFor();
                    parked.complete(null);
                } catch (Throwable t) {
                    parked.complete(t);
                }
            });
            Processes.awaitParked(waiter);
            p.close();
            assertThat(await(parked, 10)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed before the process exited");
            assertThat(p.toString()).contains("pid=" + jdk.pid()).contains("closed");
            assertThatThrownBy(p::isAlive).as("was: false, for a process that still runs").isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            assertThatThrownBy(p::waitFor).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            assertThatThrownBy(() -> p.waitFor(Duration.ofSeconds(1))).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        } finally {
            jdk.getOutputStream().close();
            jdk.destroyForcibly().waitFor();
        }
    }

    /** Closed before anything watched it: isAlive was true for good (the pidfd gone, the pid maybe another's). */
    @Test
    void isAliveOfANonChildClosedBeforeItWasWatchedThrowsIllegalState() throws Exception {
        Process jdk = new ProcessBuilder("/bin/sleep", "600").start();
        try {
            ProcessDescriptor p = ProcessDescriptor.of(jdk.toHandle());
            assertThat(p.isAlive()).isTrue();
            p.close();
            assertThatThrownBy(p::isAlive).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed before the process exited");
            assertThatThrownBy(p::waitFor).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        } finally {
            jdk.getOutputStream().close();
            jdk.destroyForcibly().waitFor();
        }
    }

    @Test
    void aClosedChildStillReportsItsExitThroughWaitForAndToString() throws Exception {
        ProcessDescriptor p = ProcessDescriptor.start(quiet("sh", "-c", "exit 6"));
        p.close();
        assertThat(p.waitFor().code()).isEqualTo(6);
        assertThat(p.toString()).contains("exited 6");
    }

    @Test
    void aProcessDescriptorCanBeRegisteredOnTheSharedPollerThatWatchesItsExit() throws Exception {
        int before = LeakGuard.openDescriptorCount();
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "600"))) {
            CompletableFuture<Integer> ready = new CompletableFuture<>();
            Poller.Registration r = Poller.shared().register(p, Poller.READABLE, Poller.Trigger.ONE_SHOT, (reg, events) -> ready.complete(events));
            assertThat(r.target()).isSameAs(p);
            p.kill();
            assertThat(await(ready, 10) & Poller.READABLE).as("the user's handler hears the exit").isNotZero();
            assertThat(p.waitFor().signal()).as("and fdkit's own watch still reaps it").isEqualTo(SIGKILL);
            r.cancel();
        }
        assertThat(LeakGuard.openDescriptorCount()).as("the registration's duplicate pidfd is closed with it").isEqualTo(before);
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "600"))) {
            Poller.shared().register(p, Poller.READABLE, (reg, events) -> { });
            p.kill();
            p.waitFor();
        } // closing the descriptor cancels the registration and closes its duplicate
        assertThat(LeakGuard.openDescriptorCount()).isEqualTo(before);
    }

    @Test
    void waitForWithAnAstronomicalTimeoutWaitsInsteadOfOverflowing() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("true"))) {
            assertThat(p.waitFor(java.time.temporal.ChronoUnit.FOREVER.getDuration())).hasValueSatisfying(s -> assertThat(s.success()).isTrue());
        }
    }

    @Test
    void aNegativeTimeoutDoesNotWaitAsTheJdksWaitForDoes() throws Exception {
        Process jdk = quiet("sleep", "30").start();
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "30"))) {
            assertThat(jdk.waitFor(-1, TimeUnit.SECONDS)).as("the JDK: returns false at once").isFalse();
            assertThat(p.waitFor(Duration.ofSeconds(-1))).as("fdkit: empty at once").isEmpty();
            p.kill();
            await(p.onExit(), 10);
            assertThat(p.waitFor(Duration.ofSeconds(-1))).as("exited: the status, still without waiting").isPresent();
        } finally {
            jdk.getOutputStream().close();
            jdk.destroyForcibly().waitFor();
        }
    }

    // ------------------------------------------------------------------ signals

    @Test
    void signalAfterExitAndReapReturnsFalse() throws Exception {
        try (ProcessDescriptor child = ProcessDescriptor.start(quiet("true"))) {
            assertThat(child.waitFor().success()).isTrue();
            assertThat(child.signal(0)).isFalse();
            assertThat(child.terminate()).isFalse();
            assertThat(child.kill()).isFalse();
        }
        // the kernel selftest's case: a pidfd on a process that has exited and been reaped by its parent
        Process jdk = new ProcessBuilder("sleep", "0.2").start();
        try (ProcessDescriptor other = ProcessDescriptor.of(jdk.toHandle())) {
            assertThat(jdk.waitFor()).isZero(); // the JDK reaps it; we never asked for onExit
            assertThat(other.signal(SIGTERM)).isFalse();
            assertThat(other.kill()).isFalse();
            assertThat(other.isAlive()).isFalse();
        }
    }

    @Test
    void signalToAnExitedButUnreapedProcessReportsAlreadyExited() throws Exception {
        // sleep 0.1's parent execs into a sleep that never waits: it stays a zombie until that one exits
        Process parent = new ProcessBuilder("/bin/sh", "-c", "sleep 0.1 & echo $!; exec sleep 3").start();
        long pid = Long.parseLong(new BufferedReader(new InputStreamReader(parent.getInputStream(), StandardCharsets.UTF_8)).readLine().strip());
        try (ProcessDescriptor zombie = ProcessDescriptor.open(pid)) {
            assertThat(Processes.awaitCondition(Duration.ofSeconds(5), () -> Processes.stat(pid).state() == 'Z')).as("became a zombie").isTrue();
            assertThat(zombie.isAlive()).isFalse();
            assertThat(zombie.signal(SIGTERM)).as("exited, if not yet reaped: nothing to signal").isFalse();
            assertThat(zombie.kill()).isFalse();
        } finally {
            parent.destroyForcibly().waitFor();
        }
    }

    @Test
    void signalNumbersOutsideTheRangeAreIllegal() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "30"), SpawnOption.KILL_ON_CLOSE)) {
            assertThatThrownBy(() -> p.signal(-1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> p.signal(65)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void terminateAndKillEndALiveProcessWithThatSignal() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "30"))) {
            assertThat(p.isAlive()).isTrue();
            assertThat(p.terminate()).isTrue();
            ExitStatus status = await(p.onExit(), 5);
            assertThat(status.kind()).isEqualTo(ExitStatus.Kind.KILLED);
            assertThat(status.signal()).isEqualTo(SIGTERM);
            assertThat(p.isAlive()).isFalse();
        }
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "30"))) {
            assertThat(p.kill()).isTrue();
            ExitStatus status = await(p.onExit(), 5);
            assertThat(status.kind()).isEqualTo(ExitStatus.Kind.KILLED);
            assertThat(status.signal()).isEqualTo(SIGKILL);
            assertThat(status.coreDumped()).isFalse();
            assertThat(p.isAlive()).isFalse();
            assertThat(p.toString()).contains("killed by SIGKILL");
        }
    }

    @Test
    void waitForWithTimeoutIsEmptyWhileRunningAndTheStatusAfter() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "30"))) {
            long start = System.nanoTime();
            assertThat(p.waitFor(Duration.ofMillis(200))).isEmpty();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(190));
            assertThat(p.waitFor(Duration.ZERO)).isEmpty();
            assertThat(p.waitFor(Duration.ofMillis(-1))).as("negative: does not wait either").isEmpty();
            p.kill();
            Optional<ExitStatus> status = p.waitFor(Duration.ofSeconds(5));
            assertThat(status).hasValueSatisfying(s -> assertThat(s.signal()).isEqualTo(SIGKILL));
            assertThat(p.waitFor(Duration.ZERO)).isEqualTo(status);
            assertThat(p.waitFor()).isEqualTo(status.get());
        }
    }

    /**
     * A platform thread in waitFor() polls its child's pidfd itself: the shared poller lets go of it meanwhile, so
     * the exit wakes that thread alone (the poller woke too, and fought it for the watch's lock, about 30 us of CPU
     * per child). The last waiter to leave early (interrupted, or timed out) gives it back: the child stays watched,
     * and is reaped with nobody waiting. Seen in the epoll set itself (/proc/self/fdinfo of the poller's fd).
     */
    @Test
    void aPlatformThreadInWaitForTakesItsChildOffTheSharedPollerAndGivesItBackWhenItLeavesEarly() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "30"))) {
            int epoll = Poller.shared().fd();
            int pidfd = p.fd();
            assertThat(epollTargets(epoll)).as("watched from birth").contains(pidfd);

            AtomicReference<Throwable> ended = new AtomicReference<>();
            Thread interrupted = Thread.ofPlatform().start(() -> {
                try {
                    p.waitFor();
                } catch (Throwable t) {
                    ended.set(t);
                }
            });
            waitUntil(() -> !epollTargets(epoll).contains(pidfd));
            assertThat(p.waitFor(Duration.ofMillis(100))).as("a second waiter, leaving first").isEmpty();
            assertThat(epollTargets(epoll)).as("still off the poller: the first waiter polls on").doesNotContain(pidfd);
            interrupted.interrupt();
            interrupted.join(5_000);
            assertThat(ended.get()).isInstanceOf(InterruptedException.class);
            assertThat(epollTargets(epoll)).as("back on the poller after the interrupt").contains(pidfd);

            assertThat(p.waitFor(Duration.ofMillis(100))).isEmpty();
            assertThat(epollTargets(epoll)).as("back on the poller after the timeout").contains(pidfd);

            p.kill();
            assertThat(await(p.onExit(), 5).signal()).as("reaped by the poller, nobody waiting").isEqualTo(SIGKILL);
            assertThat(epollTargets(epoll)).doesNotContain(pidfd);
        }
    }

    /** The descriptors in the epoll set {@code epoll} ("tfd:" lines of its fdinfo). */
    private static List<Integer> epollTargets(int epoll) {
        try {
            return java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/fdinfo/" + epoll)).stream()
                    .filter(line -> line.startsWith("tfd:"))
                    .map(line -> Integer.parseInt(line.split("\\s+")[1]))
                    .toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void waitForOnTwoHundredVirtualThreads() throws Exception {
        long start = System.nanoTime();
        try (ExecutorService virtualThreads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<ExitStatus>> results = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                results.add(virtualThreads.submit(() -> {
                    try (ProcessDescriptor p = ProcessDescriptor.start(quiet("true"))) {
                        return p.waitFor();
                    }
                }));
            }
            for (Future<ExitStatus> r : results) assertThat(r.get(20, TimeUnit.SECONDS).success()).isTrue();
        }
        System.out.printf("200 spawn+waitFor on virtual threads: %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        assertThat(zombieChildrenAfter(Duration.ofSeconds(1))).isEmpty();
    }

    @Test
    void onExitCompletesOnThePollerThread() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "0.2"))) {
            CompletableFuture<String> thread = p.onExit().thenApply(status -> Thread.currentThread().getName());
            assertThat(await(thread, 5)).isEqualTo("fdkit-poller");
        }
    }

    @Test
    void waitingVirtualThreadsDoNotPinTheirCarriers() throws Exception {
        // 200 waits of 0.5 s: parked in Java they overlap (about 0.5 s plus spawning); each holding one of the
        // few carriers (one per core) in a blocking call, they would take 200 * 0.5 s / cores
        int carriers = Runtime.getRuntime().availableProcessors();
        long start = System.nanoTime();
        try (ExecutorService virtualThreads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<ExitStatus>> results = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                results.add(virtualThreads.submit(() -> {
                    try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "0.5"))) {
                        return p.waitFor();
                    }
                }));
            }
            for (Future<ExitStatus> r : results) assertThat(r.get(60, TimeUnit.SECONDS).success()).isTrue();
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        System.out.printf("200 overlapping 0.5 s waits on virtual threads (%d carriers): %d ms%n", carriers, took.toMillis());
        assertThat(took).isLessThan(Duration.ofMillis(Math.max(200 * 500 / carriers / 3, 1500)));
    }

    // ------------------------------------------------------------------ pipes

    @Test
    void writingToTheStdinOfAnExitedChildFailsWithIOException() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("true"))) {
            p.waitFor();
            byte[] data = new byte[1 << 20]; // more than a pipe holds: the write cannot just land in the buffer
            assertThatThrownBy(() -> p.stdin().write(data)).isInstanceOf(IOException.class).hasMessageContaining("EPIPE");
            p.stdin().close();
            assertThatThrownBy(() -> p.stdin().write(1)).isInstanceOf(IOException.class).hasMessageContaining("closed");
        }
    }

    @Test
    void grandchildHoldingStdoutDoesNotDelayOnExit() throws Exception {
        ProcessBuilder pb = sh("sleep 5 & exit 7").redirectInput(Redirect.PIPE);
        try (ProcessDescriptor p = ProcessDescriptor.start(pb, SpawnOption.NEW_PROCESS_GROUP)) {
            CompletableFuture<byte[]> stdout = new CompletableFuture<>();
            Thread reader = Thread.ofPlatform().name("stdout-reader").start(() -> {
                try {
                    stdout.complete(p.stdout().readAllBytes());
                } catch (Throwable t) {
                    stdout.completeExceptionally(t);
                }
            });
            long start = System.nanoTime();
            ExitStatus status = await(p.onExit(), 2);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
            assertThat(status.kind()).isEqualTo(ExitStatus.Kind.EXITED);
            assertThat(status.code()).isEqualTo(7);
            Processes.awaitParked(reader); // still reading after the exit
            assertThat(stdout).as("the sleeping grandchild still holds the pipe").isNotDone();
            // clean up: SIGKILL to the whole group (its leader is gone, the grandchild is still in it)
            assertThat(Syscalls.kill((int) -p.pid(), SIGKILL)).isTrue();
            assertThat(await(stdout, 5)).isEmpty();
        }
    }

    @Test
    void killWhileAnotherThreadReadsStdoutEndsTheReadWithEof() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(sh("echo started; exec sleep 30"))) {
            CountDownLatch started = new CountDownLatch(1);
            CompletableFuture<String> reader = new CompletableFuture<>();
            Thread reading = Thread.ofPlatform().name("stdout-reader").start(() -> {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                byte[] buffer = new byte[64];
                try {
                    for (int n; (n = p.stdout().read(buffer)) >= 0; ) {
                        out.write(buffer, 0, n);
                        started.countDown();
                    }
                    reader.complete(out.toString(StandardCharsets.UTF_8));
                } catch (Throwable t) {
                    reader.completeExceptionally(t);
                }
            });
            assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
            Processes.awaitParked(reading); // in read again
            p.kill();
            assertThat(await(reader, 5)).isEqualTo("started\n");
            assertThat(await(p.onExit(), 5).signal()).isEqualTo(SIGKILL);
        }
    }

    @Test
    void closeWhileAnotherThreadReadsStdoutEndsTheReadWithIOException() throws Exception {
        ProcessDescriptor p = ProcessDescriptor.start(sh("echo started; exec sleep 30"), SpawnOption.KILL_ON_CLOSE);
        CompletableFuture<ExitStatus> exit = p.onExit();
        CountDownLatch started = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread reader = Thread.ofPlatform().name("stdout-reader").start(() -> {
            byte[] buffer = new byte[64];
            try {
                while (p.stdout().read(buffer) >= 0) started.countDown();
            } catch (IOException e) {
                failure.set(e);
            }
        });
        assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
        Processes.awaitParked(reader); // in read again
        p.close();
        reader.join(5000);
        assertThat(reader.isAlive()).as("reader still blocked after close").isFalse();
        // EOF (the kill came first and the pipe's writer died) or "stdout closed": both end the read, no hang
        if (failure.get() != null) assertThat(failure.get()).isInstanceOf(IOException.class).hasMessageContaining("stdout");
        assertThat(await(exit, 5).signal()).isEqualTo(SIGKILL);
    }

    /** Collects what a publisher delivers; request(n) is in the test's hands. */
    private static final class Collector implements Flow.Subscriber<ByteBuffer> {
        final CompletableFuture<Flow.Subscription> subscription = new CompletableFuture<>();
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final AtomicInteger chunks = new AtomicInteger();
        final CompletableFuture<Void> done = new CompletableFuture<>();
        volatile String onNextThread;

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription.complete(s);
        }

        @Override
        public void onNext(ByteBuffer item) {
            onNextThread = Thread.currentThread().getName();
            byte[] b = new byte[item.remaining()];
            item.get(b);
            synchronized (bytes) {
                bytes.writeBytes(b);
            }
            chunks.incrementAndGet();
        }

        @Override
        public void onError(Throwable throwable) {
            done.completeExceptionally(throwable);
        }

        @Override
        public void onComplete() {
            done.complete(null);
        }

        String text() {
            synchronized (bytes) {
                return bytes.toString(StandardCharsets.UTF_8);
            }
        }
    }

    private static String seq(int n) {
        return IntStream.rangeClosed(1, n).mapToObj(Integer::toString).collect(Collectors.joining("\n", "", "\n"));
    }

    @Test
    void stdoutPublisherDeliversEveryByteThenCompletes() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("seq", "1", "20000"))) {
            Collector c = new Collector();
            p.stdoutPublisher().subscribe(c);
            await(c.subscription, 5).request(Long.MAX_VALUE);
            await(c.done, 10);
            assertThat(c.text()).isEqualTo(seq(20000));
            assertThat(c.onNextThread).as("delivered by the poller, no thread of its own").startsWith("fdkit");
            assertThat(await(p.onExit(), 5).success()).isTrue();
        }
    }

    @Test
    void stdoutPublisherHonoursDemand() throws Exception {
        // ~590 KB: several pipe-fulls, so the child blocks until we ask for more
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("seq", "1", "100000"))) {
            Collector c = new Collector();
            p.stdoutPublisher().subscribe(c);
            Flow.Subscription s = await(c.subscription, 5);
            // Each check of "nothing more is delivered" waits until the child is blocked on a full pipe: the data
            // is there to read, so a delivery without demand would have had every chance to happen.
            assertThat(Processes.awaitBlockedWritingPipe(p.pid())).as("the child filled the pipe").isTrue();
            assertThat(c.chunks.get()).as("no demand, no data").isZero();
            s.request(1);
            waitUntil(() -> c.chunks.get() >= 1);
            assertThat(Processes.awaitBlockedWritingPipe(p.pid())).as("the child filled the pipe again").isTrue();
            assertThat(c.chunks.get()).as("request(1) delivers exactly one chunk").isEqualTo(1);
            s.request(2);
            waitUntil(() -> c.chunks.get() >= 3);
            assertThat(Processes.awaitBlockedWritingPipe(p.pid())).as("the child filled the pipe again").isTrue();
            assertThat(c.chunks.get()).isEqualTo(3);
            assertThat(p.isAlive()).as("blocked on the full pipe, not finished").isTrue();
            s.request(Long.MAX_VALUE);
            await(c.done, 10);
            assertThat(c.text()).isEqualTo(seq(100000));
            assertThat(await(p.onExit(), 5).success()).isTrue();
        }
    }

    @Test
    void aPipeHasOneConsumer() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("echo", "x"))) {
            assertThat(readAll(p.stdout())).isEqualTo("x\n");
            Collector second = new Collector();
            p.stdoutPublisher().subscribe(second);
            assertThatThrownBy(() -> await(second.done, 5)).hasRootCauseInstanceOf(IllegalStateException.class);
            p.waitFor();
        }
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("true"))) {
            assertThatThrownBy(p::stdoutPublisher).isInstanceOf(IllegalStateException.class).hasMessageContaining("PIPE");
            p.waitFor();
        }
    }

    @Test
    void aRejectedSecondSubscriberGetsOnlyOnErrorAndTheFirstGetsEverything() throws Exception {
        // The child writes only once both subscribers have asked for everything.
        try (ProcessDescriptor p = ProcessDescriptor.start(sh("read go; seq 1 2000"))) {
            Collector first = new Collector();
            Recorder second = new Recorder();
            p.stdoutPublisher().subscribe(first);
            await(first.subscription, 5).request(Long.MAX_VALUE);
            p.stdoutPublisher().subscribe(second);
            assertThat(await(second.signals, 5)).as("onSubscribe, then onError").isEqualTo(List.of("onSubscribe", "onError"));
            second.subscription.request(Long.MAX_VALUE); // inert: must not read the pipe or signal again
            p.stdin().write("go\n".getBytes(StandardCharsets.UTF_8));
            p.stdin().close();
            await(first.done, 10);
            assertThat(first.text()).isEqualTo(seq(2000));
            assertThat(await(p.onExit(), 5).success()).isTrue();
            assertThat(second.all()).as("nothing after onError (Reactive Streams rule 1.7)").containsExactly("onSubscribe", "onError");
        }
    }

    @Test
    void aSubscriberRejectedWhileAThreadIsBlockedReadingLeavesTheReaderAndThePollerRunning() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(sh("read go; echo DATA"))) {
            CompletableFuture<String> read = new CompletableFuture<>();
            Thread reader = Thread.ofPlatform().name("stdout-reader").start(() -> {
                try {
                    read.complete(readAll(p.stdout()));
                } catch (Throwable t) {
                    read.completeExceptionally(t);
                }
            });
            Processes.awaitParked(reader); // blocked in read(): the stream owns the pipe
            Recorder late = new Recorder();
            p.stdoutPublisher().subscribe(late);
            assertThat(await(late.signals, 5)).isEqualTo(List.of("onSubscribe", "onError"));
            late.subscription.request(Long.MAX_VALUE); // must arm nothing for the poller thread to run
            p.stdin().write("go\n".getBytes(StandardCharsets.UTF_8));
            p.stdin().close();
            assertThat(await(read, 10)).isEqualTo("DATA\n");
            assertThat(await(p.onExit(), 5).success()).as("the poller thread still notices exits").isTrue();
            assertThat(late.all()).containsExactly("onSubscribe", "onError");
        }
    }

    @Test
    void aBlockingReadWorksWhileTheUserHasStdoutRegisteredOnTheSharedPoller() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(sh("read go; echo DATA"))) {
            CompletableFuture<Integer> handlerSaw = new CompletableFuture<>();
            Pollable stdout = (Pollable) p.stdout();
            Poller.Registration mine = Poller.shared().register(stdout, Poller.READABLE, Poller.Trigger.ONE_SHOT, (r, events) -> handlerSaw.complete(events));
            try {
                CompletableFuture<String> read = CompletableFuture.supplyAsync(() -> {
                    try {
                        return readAll(p.stdout());
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                p.stdin().write("go\n".getBytes(StandardCharsets.UTF_8));
                p.stdin().close();
                assertThat(await(read, 10)).isEqualTo("DATA\n");
                // READABLE, or HANGUP alone when epoll looked only after the reader had drained the closed pipe
                assertThat(await(handlerSaw, 5) & (Poller.READABLE | Poller.HANGUP)).isNotZero();
            } finally {
                mine.cancel();
            }
        }
    }

    /** Records the order of a subscriber's signals; {@code signals} completes at the first terminal one. */
    private static final class Recorder implements Flow.Subscriber<ByteBuffer> {
        final List<String> received = new ArrayList<>();
        final CompletableFuture<List<String>> signals = new CompletableFuture<>();
        volatile Flow.Subscription subscription;

        @Override
        public synchronized void onSubscribe(Flow.Subscription s) {
            subscription = s;
            received.add("onSubscribe");
            s.request(Long.MAX_VALUE); // as a careless subscriber would, before it learns it was rejected
        }

        @Override
        public synchronized void onNext(ByteBuffer item) {
            received.add("onNext");
        }

        @Override
        public synchronized void onError(Throwable throwable) {
            received.add("onError");
            signals.complete(List.copyOf(received));
        }

        @Override
        public synchronized void onComplete() {
            received.add("onComplete");
            signals.complete(List.copyOf(received));
        }

        synchronized List<String> all() {
            return List.copyOf(received);
        }
    }

    private static void waitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
        if (!Processes.awaitCondition(Duration.ofSeconds(5), condition)) throw new AssertionError("condition not met within 5 s");
    }
}
