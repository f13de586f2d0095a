package dev.fdkit;

import java.time.Duration;
import dev.fdkit.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.fdkit.Processes.SIGHUP;
import static dev.fdkit.Processes.SIGINT;
import static dev.fdkit.Processes.SIGTERM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * {@code fdkit run} stopped by a signal, as CI agents, timeouts and supervisors stop jobs: the real tool in a
 * JVM of its own (its main class on the class path, as bin/fdkit runs the jar), signalled from here. Every
 * command is a shell that starts a background sleep, writes "its pid, the sleep's pid" to a file of its own,
 * then waits: the files tell which commands started, and which processes must be gone after the stop.
 * (In this package, not the CLI's, for the ChildJvm and Processes helpers.)
 */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: /dev/urandom (opened for @TempDir names) is baseline
@ExtendWith(LeakGuard.class)
@Timeout(120)
class RunSignalTest {
    /** 2 at once out of 5: 2 start, 3 must never start. */
    private static final String[] TWO_OF_FIVE = {"-j", "2", "-n", "5"};

    @TempDir
    Path dir;

    @Test
    void sigtermEndsEachRunningCommandsTreeStartsNoMoreAndPrintsTheTotalsMarkedInterrupted() throws Exception {
        try (Run run = Run.start(dir, "", TWO_OF_FIVE)) { // the default grace period: the shells and sleeps end on SIGTERM
            List<Long> pids = run.awaitStarted(2);
            run.signal(SIGTERM);
            String output = run.awaitExit(128 + SIGTERM);
            assertThat(output).contains("5 processes, 2 failed", "interrupted by SIGTERM: 2 started, 3 not started")
                    .doesNotContain("SIGKILL sent");
            assertReaped(output, run, "killed by SIGTERM");
            assertGone(pids);
            assertThat(run.pidFiles()).as("no command started after the signal").hasSize(2);
        }
    }

    @Test
    void sigintAlsoEndsWhatTheCommandsLeaveInTheirGroupsSigkillAfterTheGracePeriod() throws Exception {
        // A non-interactive shell starts background jobs with SIGINT ignored: the shell ends, its sleep does not.
        // Only Linux 6.9+ reaches the group of a leader that has exited and been reaped.
        assumeThat(Linux.has(Feature.PIDFD_SIGNAL_PROCESS_GROUP)).as(Linux.feature(Feature.PIDFD_SIGNAL_PROCESS_GROUP).cause()).isTrue();
        try (Run run = Run.start(dir, "", "-k", "0.2", "-j", "2", "-n", "5")) {
            List<Long> pids = run.awaitStarted(2);
            run.signal(SIGINT);
            String output = run.awaitExit(128 + SIGINT);
            assertThat(output).contains("5 processes, 2 failed", "interrupted by SIGINT: 2 started, 3 not started",
                    "SIGKILL sent to the groups of 2 after 0.200 s");
            assertGone(pids);
            assertThat(run.pidFiles()).hasSize(2);
        }
    }

    @Test
    void sighupThatTheCommandsIgnoreIsFollowedBySigkillAfterTheGracePeriod() throws Exception {
        try (Run run = Run.start(dir, "trap '' HUP; ", "-k", "0.2", "-j", "2", "-n", "5")) { // ignored by the sleep too
            List<Long> pids = run.awaitStarted(2);
            run.signal(SIGHUP);
            String output = run.awaitExit(128 + SIGHUP);
            assertThat(output).contains("5 processes, 2 failed", "interrupted by SIGHUP: 2 started, 3 not started",
                    "SIGKILL sent to the groups of 2 after 0.200 s");
            assertReaped(output, run, "killed by SIGKILL");
            assertGone(pids);
            assertThat(run.pidFiles()).hasSize(2);
        }
    }

    @Test
    void aSecondSigtermSendsSigkillAtOnceInsteadOfAfterTheGracePeriod() throws Exception {
        try (Run run = Run.start(dir, "trap '' TERM; ", "-k", "3600", "-j", "2", "-n", "5")) {
            List<Long> pids = run.awaitStarted(2);
            run.signal(SIGTERM);
            run.awaitOutput("fdkit run: SIGTERM: sent it to the process groups of the 2 running commands"); // the first is handled
            run.signal(SIGTERM);
            String output = run.awaitExit(128 + SIGTERM); // within the bounded wait, far less than the hour's grace
            assertThat(output).contains("interrupted by SIGTERM: 2 started, 3 not started", "SIGKILL sent to the groups of 2 at a second SIGTERM");
            assertReaped(output, run, "killed by SIGKILL");
            assertGone(pids);
            assertThat(run.pidFiles()).hasSize(2);
        }
    }

    /** fdkit reported each shell's exit status: it reaped them itself, none was left a zombie for init. */
    private static void assertReaped(String output, Run run, String how) {
        for (long shell : run.shellPids()) assertThat(output).containsPattern("#\\d pid " + shell + " " + how);
    }

    private static void assertGone(List<Long> pids) throws InterruptedException {
        for (long pid : pids) assertThat(Processes.awaitGone(pid)).as("pid %d gone: %s", pid, Processes.stat(pid)).isTrue();
    }

    /** {@code fdkit run OPTIONS -- sh -c 'PREFIX sleep 60 & write the pids; wait'} in its own JVM. */
    private record Run(ChildJvm jvm, Path dir) implements AutoCloseable {
        private static final long WAIT_SECONDS = 60;

        static Run start(Path dir, String prefix, String... options) throws IOException {
            String script = prefix + "sleep 60 & echo \"$$ $!\" > " + dir + "/$$.tmp && mv " + dir + "/$$.tmp " + dir + "/$$.pids; wait";
            List<String> args = new ArrayList<>(List.of("run"));
            args.addAll(List.of(options));
            args.addAll(List.of("--", "sh", "-c", script));
            return new Run(ChildJvm.start(Main.class, dir.resolve("fdkit.log"), args.toArray(String[]::new)), dir);
        }

        /** Waits until {@code count} commands have written their pids; returns the shells' and the sleeps' pids. */
        List<Long> awaitStarted(int count) throws InterruptedException {
            boolean started = Processes.awaitCondition(Duration.ofSeconds(WAIT_SECONDS), () -> pidFiles().size() >= count || !jvm.process.isAlive());
            assertThat(jvm.process.isAlive()).as("fdkit running; output: %s", jvm.output()).isTrue();
            assertThat(started).as("%d commands started in time; output: %s", count, jvm.output()).isTrue();
            return pidFiles().stream().flatMap(f -> Stream.of(read(f).trim().split(" "))).map(Long::parseLong).toList();
        }

        List<Long> shellPids() {
            return pidFiles().stream().map(f -> Long.parseLong(read(f).trim().split(" ")[0])).toList();
        }

        List<Path> pidFiles() {
            try (Stream<Path> files = Files.list(dir)) {
                return files.filter(f -> f.toString().endsWith(".pids")).toList();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void signal(int signal) throws IOException {
            try (ProcessDescriptor fdkit = ProcessDescriptor.of(jvm.process.toHandle())) {
                assertThat(fdkit.signal(signal)).as("fdkit still running to be signalled").isTrue();
            }
        }

        void awaitOutput(String text) throws InterruptedException {
            assertThat(Processes.awaitCondition(Duration.ofSeconds(WAIT_SECONDS), () -> jvm.output().contains(text)))
                    .as("output has '%s' in time: %s", text, jvm.output()).isTrue();
        }

        /** Waits for fdkit to exit with {@code status}; returns its output. */
        String awaitExit(int status) throws InterruptedException {
            assertThat(jvm.process.waitFor(WAIT_SECONDS, TimeUnit.SECONDS)).as("fdkit exited in time; output: %s", jvm.output()).isTrue();
            assertThat(jvm.process.exitValue()).as("exit status; output: %s", jvm.output()).isEqualTo(status);
            return jvm.output();
        }

        private static String read(Path file) {
            try {
                return Files.readString(file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void close() throws InterruptedException {
            jvm.destroy();
        }
    }
}
