package dev.fdkit.cli;

import dev.fdkit.LeakGuard;
import dev.fdkit.Linux;
import dev.fdkit.ProcessDescriptor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fdkit tool, run in-process through {@link Main#run}: exit statuses (0 ok, 1 failure at run time,
 * 2 bad arguments), help on stdout, errors on stderr naming the argument and the rule. Children are
 * commands that print nothing (they inherit the test JVM's stdout).
 */
@ExtendWith(LeakGuard.class)
@Timeout(60)
class MainTest {
    private record Result(int status, String out, String err) {}

    private static Result fdkit(String... args) {
        return fdkitWithStdin("", args);
    }

    private static Result fdkitWithStdin(String stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        InputStream in = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
        int status;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            status = Main.run(args, in, o, e);
        }
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Stream<Arguments> helpRequests() {
        return Stream.<Object>of(new String[] {"--help"}, new String[] {"-h"}, new String[] {"help"},
                new String[] {"help", "run"}, new String[] {"help", "wait"}, new String[] {"help", "features"},
                new String[] {"run", "--help"}, new String[] {"run", "-h"}, new String[] {"run", "-j", "2", "--help"},
                new String[] {"wait", "--help"}, new String[] {"wait", "-h"}, new String[] {"wait", "123", "-h"},
                new String[] {"features", "--help"}, new String[] {"features", "-h"}).map(args -> Arguments.of(args));
    }

    @ParameterizedTest
    @MethodSource("helpRequests")
    void helpPrintsUsageToStdoutAndExitsZero(String[] args) {
        Result r = fdkit(args);
        assertThat(r.status()).as("exit status").isZero();
        assertThat(r.out()).startsWith("usage: fdkit").contains("exit status");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void eachCommandsHelpIsItsOwn() {
        assertThat(fdkit("run", "--help").out()).startsWith("usage: fdkit run").contains("-n COUNT", "-j N", "-q");
        assertThat(fdkit("wait", "--help").out()).startsWith("usage: fdkit wait PID");
        assertThat(fdkit("features", "--help").out()).startsWith("usage: fdkit features").contains("fdkit.disable");
    }

    @Test
    void helpAfterDashDashBelongsToTheCommandRun() {
        // sh -c takes the word after the script as $0 and prints nothing (GNU true would print its help).
        Result r = fdkit("run", "-q", "--", "sh", "-c", "exit 0", "--help");
        assertThat(r.status()).isZero();
        assertThat(r.out()).startsWith("1 processes, 0 failed");
    }

    @Test
    void noArgumentsPrintsUsageToStderrAndExitsTwo() {
        Result r = fdkit();
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).startsWith("usage: fdkit");
    }

    static Stream<Arguments> badArguments() {
        return Stream.of(
                Arguments.of(new String[] {"bogus"}, "unknown command 'bogus'"),
                Arguments.of(new String[] {"help", "bogus"}, "'bogus'"),
                Arguments.of(new String[] {"features", "bogus"}, "takes no arguments, was given 'bogus'"),
                Arguments.of(new String[] {"run", "--bogus"}, "unknown option '--bogus'"),
                Arguments.of(new String[] {"run", "echo", "hi"}, "unexpected argument 'echo': the command to run goes after --"),
                Arguments.of(new String[] {"run", "--"}, "missing command after --"),
                Arguments.of(new String[] {"run", "-j"}, "-j needs a value"),
                Arguments.of(new String[] {"run", "-j", "0", "--", "true"}, "must be a whole number from 1 to 2147483647, was 0"),
                Arguments.of(new String[] {"run", "-j", "-3", "--", "true"}, "was '-3'"),
                Arguments.of(new String[] {"run", "-j", "four", "--", "true"}, "was 'four'"),
                Arguments.of(new String[] {"run", "-n", "2147483648", "--", "true"}, "-n (times to run CMD) must be a whole number from 1 to 2147483647, was 2147483648"),
                Arguments.of(new String[] {"run", "-n", "99999999999999999999999", "--", "true"}, "was 99999999999999999999999"),
                Arguments.of(new String[] {"run", "-k"}, "-k needs a value: -k SECONDS"),
                Arguments.of(new String[] {"run", "-k", "-1", "--", "true"}, "-k (grace period before SIGKILL) must be a number of seconds from 0 to 3600 (decimals allowed: 0.5), was '-1'"),
                Arguments.of(new String[] {"run", "-k", "1.", "--", "true"}, "was '1.'"),
                Arguments.of(new String[] {"run", "-k", "5s", "--", "true"}, "was '5s'"),
                Arguments.of(new String[] {"run", "-k", "3600.5", "--", "true"}, "from 0 to 3600 (decimals allowed: 0.5), was 3600.5"),
                Arguments.of(new String[] {"wait"}, "needs at least one PID"),
                Arguments.of(new String[] {"wait", "abc"}, "a PID must be a whole number from 1 to 2147483647, was 'abc'"),
                Arguments.of(new String[] {"wait", "0"}, "was 0"),
                Arguments.of(new String[] {"wait", "-5"}, "was '-5'"),
                Arguments.of(new String[] {"wait", "2147483648"}, "was 2147483648"),
                Arguments.of(new String[] {"wait", "-x"}, "unknown option '-x'"));
    }

    @ParameterizedTest
    @MethodSource("badArguments")
    void badArgumentsNameTheRuleOnStderrAndExitTwo(String[] args, String message) {
        Result r = fdkit(args);
        assertThat(r.status()).as("exit status").isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains(message).contains("usage: fdkit");
    }

    @Test
    void badPidsAreRejectedBeforeAnyIsWaitedFor() throws Exception {
        try (ProcessDescriptor sleeper = ProcessDescriptor.spawn("sleep", "30")) {
            long start = System.nanoTime();
            Result r = fdkit("wait", Long.toString(sleeper.pid()), "x");
            assertThat(r.status()).isEqualTo(2);
            assertThat(System.nanoTime() - start).as("did not wait for the sleeper").isLessThan(10_000_000_000L);
            sleeper.kill();
            sleeper.waitFor();
        }
    }

    @Test
    void waitingForFdkitItselfIsRejectedInsteadOfWaitingForever() {
        Result r = fdkit("wait", Long.toString(ProcessHandle.current().pid()));
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("is fdkit itself");
    }

    @Test
    void countWithCommandsFromStdinIsRejected() {
        Result r = fdkitWithStdin("true\n", "run", "-n", "3");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("-n repeats the command given after --");
    }

    @Test
    void runReportsEveryStatusAndExitsOneIfAnyFailed() {
        Result ok = fdkit("run", "-j", "2", "-n", "3", "--", "true");
        assertThat(ok.status()).isZero();
        assertThat(ok.out().lines().filter(l -> l.matches("#\\d pid \\d+ exited 0.*: true"))).hasSize(3);
        assertThat(ok.err()).contains("[3/3 done, 0 running]");

        Result failed = fdkit("run", "-q", "--", "sh", "-c", "exit 3");
        assertThat(failed.status()).isEqualTo(1);
        assertThat(failed.out()).startsWith("1 processes, 1 failed");
        assertThat(failed.err()).isEmpty();
    }

    @Test
    void theGracePeriodIsSecondsWithDecimalsFromZero() {
        assertThat(Main.seconds("-k", "0.25", 3600)).isEqualTo(Duration.ofMillis(250));
        assertThat(Main.seconds("-k", "0", 3600)).isZero();
        assertThat(Main.seconds("-k", "3600", 3600)).isEqualTo(Duration.ofHours(1));
        assertThat(Main.seconds("-k", "0.0000000019", 3600)).as("digits beyond nanoseconds dropped").isEqualTo(Duration.ofNanos(1));
        assertThat(fdkit("run", "-q", "-k", "0.5", "--", "true").status()).isZero();
    }

    @Test
    void aCommandThatCannotStartCountsAsFailed() {
        Result r = fdkit("run", "-q", "--", "/nonexistent/fdkit-test-command");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.out()).contains("#1 failed to start").contains("ENOENT").contains("1 processes, 1 failed");
    }

    @Test
    void runReadsOneShellCommandPerNonBlankStdinLine() {
        Result r = fdkitWithStdin("true\n\n  \nexit 4\n", "run", "-j", "1");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.out()).contains("/bin/sh -c true", "/bin/sh -c exit 4", "2 processes, 1 failed");
    }

    @Test
    void runReportsFdkitsThreadsAndTheJvmsLabelled() {
        Result r = fdkit("run", "-q", "-n", "2", "--", "true");
        Matcher m = Pattern.compile("threads: (\\d+) fdkit \\(([^)]*)\\); JVM platform threads (\\d+) at the end, (\\d+) at the peak; (\\d+) OS threads in the JVM process")
                .matcher(r.out());
        assertThat(m.find()).as("totals line: %s", r.out()).isTrue();
        int fdkit = Integer.parseInt(m.group(1));
        int live = Integer.parseInt(m.group(3));
        int peak = Integer.parseInt(m.group(4));
        int os = Integer.parseInt(m.group(5));
        assertThat(m.group(2)).contains("fdkit-poller");
        assertThat(fdkit).isEqualTo(m.group(2).split(", ").length);
        assertThat(live).isGreaterThan(fdkit).isLessThanOrEqualTo(peak);
        assertThat(os).isGreaterThanOrEqualTo(live);
    }

    @Test
    void waitPrintsEachExitAndExitsZero() throws Exception {
        try (ProcessDescriptor child = exitsWhenStdinCloses()) {
            Result r = waitWhileChildExits(child);
            assertThat(r.status()).isZero();
            assertThat(r.out()).startsWith(child.pid() + ": exited");
            child.waitFor();
        }
    }

    @Test
    void waitForNoSuchProcessExitsOneAndStillWaitsForTheOthers() throws Exception {
        try (ProcessDescriptor child = exitsWhenStdinCloses()) {
            // Above the largest pid_max Linux allows (2^22): a valid pid that never names a process.
            Result r = waitWhileChildExits(child, "2147483647");
            assertThat(r.status()).isEqualTo(1);
            assertThat(r.err()).contains("cannot watch pid 2147483647").contains("ESRCH");
            assertThat(r.out()).startsWith(child.pid() + ": exited");
            child.waitFor();
        }
    }

    private static ProcessDescriptor exitsWhenStdinCloses() throws java.io.IOException {
        return ProcessDescriptor.start(new ProcessBuilder("cat").redirectOutput(ProcessBuilder.Redirect.DISCARD));
    }

    /**
     * {@code fdkit wait OTHERS... CHILD}, with the child made to exit once fdkit wait holds its own pidfd on it:
     * a child that exits on a timer may be gone before a loaded machine gets to open it (ESRCH, nothing printed).
     */
    private static Result waitWhileChildExits(ProcessDescriptor child, String... others) throws Exception {
        String[] args = Stream.concat(Stream.of("wait"), Stream.concat(Stream.of(others), Stream.of(Long.toString(child.pid())))).toArray(String[]::new);
        java.util.concurrent.CompletableFuture<Result> waiting = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> fdkit(args), task -> Thread.ofPlatform().start(task));
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (pidfdsOn(child.pid()) < 2 && !waiting.isDone() && System.nanoTime() < deadline) java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        child.stdin().close();
        return waiting.get(20, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** Our open pidfds on {@code pid}, from /proc/self/fdinfo ("Pid:" line). */
    private static long pidfdsOn(long pid) {
        try (Stream<java.nio.file.Path> infos = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fdinfo"))) {
            return infos.filter(info -> {
                try {
                    return java.nio.file.Files.readAllLines(info).contains("Pid:\t" + pid);
                } catch (java.io.IOException gone) {
                    return false;
                }
            }).count();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void featuresPrintsTheVersionAndTheProbeTable() {
        Result r = fdkit("features");
        assertThat(r.status()).isZero();
        assertThat(r.out()).startsWith("fdkit   " + Main.version()).contains("capability", "available", "pidfd_open");
    }

    @Test
    void versionPrintsTheProjectVersion() {
        Result r = fdkit("--version");
        assertThat(r.status()).isZero();
        assertThat(r.out().strip()).matches("fdkit \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?");
    }

    @Test
    void unknownFeatureNamesAreThoseMatchingNoEnumOrDisplayNameInAnyCase() {
        assertThat(Main.unknownFeatureNames(null)).isEmpty();
        assertThat(Main.unknownFeatureNames("")).isEmpty();
        assertThat(Main.unknownFeatureNames(" bogus, io_uring ,PIDFD_OPEN,Pidfd_Open,,IO_URING waitid,io_uring_futex,nope"))
                .containsExactly("bogus", "nope");
    }

    @Test
    void unknownNamesInTheDisablePropertyWarnOnStderr() {
        Linux.features(); // probed and cached before the property is set, so no other test sees it
        String before = System.getProperty(Linux.DISABLE_PROPERTY);
        System.setProperty(Linux.DISABLE_PROPERTY, "bogus,io_uring");
        try {
            Result r = fdkit("features");
            assertThat(r.status()).isZero();
            assertThat(r.err()).startsWith("fdkit: warning: -Dfdkit.disable=bogus,io_uring: no feature named 'bogus'")
                    .doesNotContain("'io_uring'");
        } finally {
            if (before == null) System.clearProperty(Linux.DISABLE_PROPERTY);
            else System.setProperty(Linux.DISABLE_PROPERTY, before);
        }
        assertThat(fdkit("features").err()).isEmpty();
    }
}
