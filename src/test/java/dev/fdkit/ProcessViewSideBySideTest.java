package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static dev.fdkit.Processes.awaitGone;
import static dev.fdkit.Processes.readAll;
import static dev.fdkit.Processes.zombieChildrenAfter;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * One table of scenarios (the categories of the JDK's test/jdk/java/lang/ProcessBuilder/Basic.java), each run
 * through {@code new ProcessBuilder(..).start()} and through {@code ProcessDescriptor.start(..).asProcess()}:
 * both must observe the same thing, and that thing is written down, so the two cannot agree on a wrong answer.
 * A scenario where fdkit deliberately differs says what it observes instead, and why.
 */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProcessViewSideBySideTest {
    @TempDir
    static Path tmp;

    private static final String MISSING = "/nonexistent/fdkit-no-such-program";
    /** What the shell's descriptor 1 is, on stderr: read in a subshell, as `readlink .. >&2` would have dash move it first. */
    private static final String FD1_TO_STDERR = "fd1=$(readlink /proc/$$/fd/1); echo \"$fd1\" >&2";

    @FunctionalInterface
    private interface Observation {
        Object observe(Starter starter) throws Exception;
    }

    /** A row: what both observe, or (fdkit differing on purpose) what each observes and why. */
    private record Scenario(String name, Observation observation, Object jdk, Object fdkit, String why) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Scenario same(String name, Object expected, Observation observation) {
        return new Scenario(name, observation, expected, expected, "");
    }

    /** One way to turn a ProcessBuilder into a java.lang.Process; cleans up what it started. */
    private static final class Starter implements AutoCloseable {
        final boolean fdkit;
        final String id; // tells the two runs' files apart
        private final List<Process> started = new ArrayList<>();
        private final List<ProcessDescriptor> descriptors = new ArrayList<>();

        Starter(boolean fdkit) {
            this.fdkit = fdkit;
            this.id = fdkit ? "fdkit" : "jdk";
        }

        Process start(ProcessBuilder pb) throws IOException {
            Process p;
            if (fdkit) {
                ProcessDescriptor d = ProcessDescriptor.start(pb);
                descriptors.add(d);
                p = d.asProcess();
            } else {
                p = pb.start();
            }
            started.add(p);
            return p;
        }

        List<Process> startPipeline(List<ProcessBuilder> builders) throws IOException {
            List<Process> ps;
            if (fdkit) {
                List<ProcessDescriptor> ds = ProcessDescriptor.startPipeline(builders);
                descriptors.addAll(ds);
                ps = ds.stream().map(ProcessDescriptor::asProcess).toList();
            } else {
                ps = ProcessBuilder.startPipeline(builders);
            }
            started.addAll(ps);
            return ps;
        }

        /** onExit of a process that is not our child, completing with its pid: the JDK's ProcessHandle, or a pidfd. */
        CompletableFuture<Long> onExitOf(long pid) throws IOException {
            if (!fdkit) return ProcessHandle.of(pid).orElseThrow().onExit().thenApply(ProcessHandle::pid);
            ProcessDescriptor d = ProcessDescriptor.open(pid);
            descriptors.add(d);
            return d.onExit().thenApply(status -> pid);
        }

        @Override
        public void close() throws Exception {
            for (Process p : started) {
                p.destroyForcibly();
                assertThat(p.waitFor(10, TimeUnit.SECONDS)).as("%s ended", p).isTrue();
                p.getOutputStream().close();
                p.getInputStream().close();
                p.getErrorStream().close();
            }
            for (ProcessDescriptor d : descriptors) d.close();
        }

        @Override
        public String toString() {
            return fdkit ? "ProcessDescriptor.start(pb).asProcess()" : "pb.start()";
        }
    }

    private static ProcessBuilder sh(String script) {
        return new ProcessBuilder("/bin/sh", "-c", script);
    }

    /** Stdout, then the exit value. */
    private static String run(Process p) throws Exception {
        p.getOutputStream().close();
        String out = readAll(p.getInputStream());
        return out + "exit " + p.waitFor();
    }

    private static String outcome(ThrowingRunnable action) {
        try {
            action.run();
            return "ok";
        } catch (Exception e) {
            return e.getClass().getSimpleName() + (e.getMessage() != null && e.getMessage().startsWith("Stream closed") ? ": Stream closed" : "");
        }
    }

    /**
     * Three processes that each start two more, all reading the root's stdin (as fd 3: a background job's stdin
     * is /dev/null) and writing their pid first: the tree of 9 descendants of ProcessHandle/OnExitTest, which
     * ends when the root's stdin is closed. Each parent waits for its children, so none lingers as a zombie.
     */
    private static final String TREE_OF_NINE = "exec 3<&0; for i in 1 2 3; do sh -c 'echo $$; for j in 1 2; do "
            + "sh -c \"echo \\$\\$; exec cat <&3 >/dev/null\" & done; cat <&3 >/dev/null; wait' & done; wait";

    /** Our pipe descriptors, by target. */
    private static Map<String, Integer> pipes() {
        Map<String, Integer> pipes = new TreeMap<>(LeakGuard.openDescriptors());
        pipes.keySet().removeIf(target -> !target.startsWith("pipe:"));
        return pipes;
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    static List<Scenario> scenarios() throws IOException {
        String ourStdout = Files.readSymbolicLink(Path.of("/proc/self/fd/1")).toString();
        return List.of(
                same("exit codes: waitFor and exitValue", List.of(0, 0, 1, 1, 42, 42, 255, 255), s -> {
                    List<Integer> codes = new ArrayList<>();
                    for (int code : new int[] {0, 1, 42, 255}) {
                        Process p = s.start(sh("exit " + code));
                        codes.add(p.waitFor());
                        codes.add(p.exitValue());
                    }
                    return codes;
                }),
                same("no zombies: a child is reaped by the time waitFor returns", List.of(true), s -> {
                    List<Process> all = new ArrayList<>();
                    for (int i = 0; i < 20; i++) all.add(s.start(new ProcessBuilder("true")));
                    for (Process p : all) p.waitFor();
                    List<Long> pids = all.stream().map(Process::pid).toList();
                    return List.of(Processes.zombieChildren().stream().noneMatch(pids::contains));
                }),
                same("killed by a signal: 128 + signal", List.of(137, 143, 137), s -> {
                    Process self = s.start(sh("kill -KILL $$"));
                    Process term = s.start(new ProcessBuilder("sleep", "30"));
                    term.destroy();
                    Process kill = s.start(new ProcessBuilder("sleep", "30"));
                    kill.destroyForcibly();
                    return List.of(self.waitFor(), term.waitFor(), kill.waitFor());
                }),
                same("environment: exactly the builder's", List.of("B=two words", "FDKIT_A=1"), s -> {
                    ProcessBuilder pb = new ProcessBuilder("/usr/bin/env");
                    pb.environment().clear();
                    pb.environment().put("FDKIT_A", "1");
                    pb.environment().put("B", "two words");
                    Process p = s.start(pb);
                    List<String> lines = new ArrayList<>(readAll(p.getInputStream()).lines().sorted().toList());
                    p.waitFor();
                    return lines;
                }),
                same("working directory", tmp.toString() + "\nexit 0", s -> run(s.start(new ProcessBuilder("pwd").directory(tmp.toFile())))),
                same("PIPE: stdin to stdout, and stderr", List.of("hello\n", "err\n", 0), s -> {
                    Process p = s.start(sh("cat; echo err >&2"));
                    p.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
                    p.getOutputStream().close();
                    return List.of(readAll(p.getInputStream()), readAll(p.getErrorStream()), p.waitFor());
                }),
                same("INHERIT: our descriptors; the streams are empty, writing fails", List.of(ourStdout + "\n", -1, 0, "IOException: Stream closed"), s -> {
                    Process p = s.start(sh(FD1_TO_STDERR).redirectOutput(Redirect.INHERIT).redirectInput(Redirect.INHERIT));
                    String fd1 = readAll(p.getErrorStream());
                    p.waitFor();
                    return List.of(fd1, p.getInputStream().read(), p.getInputStream().available(), outcome(() -> p.getOutputStream().write('x')));
                }),
                same("DISCARD: /dev/null", List.of("/dev/null\n", -1, 0), s -> {
                    Process p = s.start(sh(FD1_TO_STDERR + "; echo lost").redirectOutput(Redirect.DISCARD));
                    return List.of(readAll(p.getErrorStream()), p.getInputStream().read(), p.waitFor());
                }),
                same("file redirects: read, write (truncates), append", List.of("line\n", "new\n", "first\nsecond\nthird\n"), s -> {
                    Path in = Files.writeString(tmp.resolve(s.id + "-in"), "line\n");
                    Path out = Files.writeString(tmp.resolve(s.id + "-out"), "old, longer content\n");
                    Path log = Files.writeString(tmp.resolve(s.id + "-log"), "first\n");
                    Process cat = s.start(new ProcessBuilder("cat").redirectInput(in.toFile()));
                    String read = readAll(cat.getInputStream());
                    s.start(sh("echo new").redirectOutput(out.toFile())).waitFor();
                    s.start(sh("echo second").redirectOutput(Redirect.appendTo(log.toFile()))).waitFor();
                    s.start(sh("echo third >&2").redirectError(Redirect.appendTo(log.toFile()))).waitFor();
                    return List.of(read, Files.readString(out), Files.readString(log));
                }),
                same("redirectErrorStream: stderr merged into stdout", List.of("out\nerr\n", -1), s -> {
                    Process p = s.start(sh("echo out; echo err >&2").redirectErrorStream(true));
                    return List.of(readAll(p.getInputStream()), p.getErrorStream().read());
                }),
                // The messages differ in form, not in content: the JDK says `Cannot run program "x": error=2, No such
                // file or directory`; fdkit (an ErrnoException, an IOException) `posix_spawnp("x") failed: ENOENT (No
                // such file or directory)`. Both name the program and the reason.
                same("a missing program: IOException naming it and the reason", List.of(true, true, true), s -> {
                    try {
                        s.start(new ProcessBuilder(MISSING));
                        return "started";
                    } catch (IOException e) {
                        return List.of(e instanceof IOException, e.getMessage().contains(MISSING), e.getMessage().contains("No such file or directory"));
                    }
                }),
                same("a script without #! runs through /bin/sh", "from sh: a\nexit 3", s -> {
                    Path script = tmp.resolve(s.id + "-script");
                    Files.writeString(script, "echo \"from sh: $1\"; exit 3\n");
                    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
                    return run(s.start(new ProcessBuilder(script.toString(), "a")));
                }),
                same("destroy while another thread reads: the read ends, exit 143", List.of(true, 143), s -> {
                    Process p = s.start(new ProcessBuilder("sleep", "30"));
                    CountDownLatch reading = new CountDownLatch(1);
                    CompletableFuture<String> read = new CompletableFuture<>();
                    Thread.ofPlatform().start(() -> {
                        reading.countDown();
                        read.complete(outcome(() -> {
                            if (p.getInputStream().read() != -1) throw new AssertionError("data from sleep");
                        }));
                    });
                    reading.await();
                    p.destroy();
                    String how = read.get(10, TimeUnit.SECONDS); // end of stream, or IOException: Basic.java allows both
                    return List.of(how.equals("ok") || how.startsWith("IOException"), p.waitFor());
                }),
                same("a grandchild holding the pipe: waitFor returns at the child's exit", List.of(true, 0), s -> {
                    Process p = s.start(sh("sleep 30 & echo $!"));
                    long grandchild = Long.parseLong(p.inputReader().readLine());
                    try {
                        return List.of(p.waitFor(10, TimeUnit.SECONDS), p.exitValue());
                    } finally {
                        ProcessHandle.of(grandchild).ifPresent(ProcessHandle::destroyForcibly);
                        assertThat(awaitGone(grandchild)).isTrue();
                    }
                }),
                same("4095 bytes through a pipe, both ways", List.of(4095, true, 0, 4095), s -> {
                    byte[] data = new byte[4095];
                    new Random(4095).nextBytes(data);
                    Process cat = s.start(new ProcessBuilder("cat"));
                    cat.getOutputStream().write(data);
                    cat.getOutputStream().close();
                    byte[] back = cat.getInputStream().readAllBytes();
                    Process head = s.start(new ProcessBuilder("head", "-c", "4095", "/dev/zero"));
                    int code = head.waitFor(); // it fits in the pipe: exits before we read
                    return List.of(back.length, Arrays.equals(back, data), code, head.getInputStream().readAllBytes().length);
                }),
                same("waitFor(timeout) times out; zero and negative do not wait", List.of(false, true, false, false, 137, true), s -> {
                    Process p = s.start(new ProcessBuilder("sleep", "30"));
                    long start = System.nanoTime();
                    boolean exited = p.waitFor(100, TimeUnit.MILLISECONDS);
                    boolean waited = System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(90);
                    boolean zero = p.waitFor(0, TimeUnit.SECONDS);
                    boolean negative = p.waitFor(-1, TimeUnit.SECONDS);
                    p.destroyForcibly();
                    return List.of(exited, waited, zero, negative, p.waitFor(), p.waitFor(Long.MAX_VALUE, TimeUnit.DAYS));
                }),
                same("interrupt during waitFor: InterruptedException, the process runs on", List.of("InterruptedException", true), s -> {
                    Process p = s.start(new ProcessBuilder("sleep", "30"));
                    CompletableFuture<String> waited = new CompletableFuture<>();
                    Thread waiter = Thread.ofPlatform().start(() -> waited.complete(outcome(p::waitFor)));
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (waiter.getState() != Thread.State.WAITING && System.nanoTime() < deadline) Thread.onSpinWait();
                    waiter.interrupt();
                    return List.of(waited.get(10, TimeUnit.SECONDS), p.isAlive());
                }),
                same("before exit: exitValue throws, isAlive, toString", List.of("IllegalThreadStateException", true, "Process[pid=PID, exitValue=\"not exited\"]",
                        false, "Process[pid=PID, exitValue=137]"), s -> {
                    Process p = s.start(new ProcessBuilder("sleep", "30"));
                    String before = outcome(p::exitValue);
                    boolean alive = p.isAlive();
                    String running = p.toString().replace(Long.toString(p.pid()), "PID");
                    p.destroyForcibly().waitFor();
                    return List.of(before, alive, running, p.isAlive(), p.toString().replace(Long.toString(p.pid()), "PID"));
                }),
                same("onExit completes with the Process itself, exitValue known", List.of(true, 3, false), s -> {
                    Process p = s.start(sh("exit 3"));
                    Process done = p.onExit().get(10, TimeUnit.SECONDS);
                    return List.of(done == p, p.onExit().thenApply(Process::exitValue).get(10, TimeUnit.SECONDS), p.isAlive());
                }),
                same("toHandle, info, children: the same process", List.of(true, true, true, true, true), s -> {
                    Process p = s.start(sh("sleep 30 & echo $!; wait"));
                    long child = Long.parseLong(p.inputReader().readLine());
                    try {
                        return List.of(p.toHandle().pid() == p.pid(), p.toHandle().isAlive(), p.supportsNormalTermination(),
                                p.children().anyMatch(h -> h.pid() == child), p.info().command().orElse("").endsWith("sh"));
                    } finally {
                        ProcessHandle.of(child).ifPresent(ProcessHandle::destroyForcibly);
                        assertThat(awaitGone(child)).isTrue();
                    }
                }),
                same("inputReader, errorReader, outputWriter", List.of("HELLO", "warn", 0), s -> {
                    Process p = s.start(sh("tr a-z A-Z; echo warn >&2"));
                    try (java.io.BufferedWriter w = p.outputWriter()) {
                        w.write("hello");
                        w.newLine();
                    }
                    return List.of(p.inputReader().readLine(), p.errorReader().readLine(), p.waitFor());
                }),
                new Scenario("getOutputStream: the JDK's buffers until flush(), fdkit's writes through", s -> {
                    Process p = s.start(new ProcessBuilder("head", "-n", "1"));
                    p.getOutputStream().write("line\n".getBytes(StandardCharsets.UTF_8)); // no flush()
                    // Did head get its line, and exit? Seeing that it did not needs a bound: half a second for the JDK.
                    boolean exitedBeforeFlush = p.waitFor(s.fdkit ? 10_000 : 500, TimeUnit.MILLISECONDS);
                    p.getOutputStream().flush();
                    return List.of(exitedBeforeFlush, readAll(p.getInputStream()), p.waitFor());
                }, List.of(false, "line\n", 0), List.of(true, "line\n", 0),
                        "a write reaches the child at once: no flush() to forget, so no deadlock with a child waiting for input the "
                                + "parent believes it sent (code written for the JDK flushes, which costs nothing here)"),
                same("available(): the bytes readable now", List.of((int) 'a', 2), s -> {
                    Process p = s.start(sh("printf abc; exec cat"));
                    InputStream out = p.getInputStream();
                    return List.of(out.read(), out.available());
                }),
                // ProcessHandle/OnExitTest's test2: onExit of every process in a tree of 9 (not our children) completes
                // with that process once it exits, and not before. The JDK watches each with a thread; fdkit with a
                // pidfd on its one poller thread.
                same("OnExitTest: onExit of each process in a tree of 9", List.of(9, true, false, true, 0), s -> {
                    Process root = s.start(sh(TREE_OF_NINE));
                    java.io.BufferedReader out = root.inputReader();
                    List<Long> pids = new ArrayList<>();
                    for (int i = 0; i < 9; i++) pids.add(Long.parseLong(out.readLine()));
                    boolean listed = root.descendants().map(ProcessHandle::pid).toList().containsAll(pids);
                    List<CompletableFuture<Long>> exits = new ArrayList<>();
                    for (long pid : pids) exits.add(s.onExitOf(pid));
                    boolean anyBefore = exits.stream().anyMatch(CompletableFuture::isDone);
                    root.getOutputStream().close(); // end of input for the whole tree
                    List<Long> exited = new ArrayList<>();
                    for (CompletableFuture<Long> exit : exits) exited.add(exit.get(10, TimeUnit.SECONDS));
                    return List.of(new HashSet<>(pids).size(), listed, anyBefore, exited.equals(pids), root.waitFor());
                }),
                // CloseRace.java (JDK-8024521): a stream closed around the process's exit must close its own descriptor
                // only, never the number the kernel has meanwhile given to a file another thread opened.
                same("CloseRace: streams closed as the process exits, files opened on the freed numbers", List.of(0, true), s -> {
                    Path file = Files.writeString(tmp.resolve(s.id + "-file"), "x");
                    Map<String, Integer> pipesBefore = pipes();
                    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
                    CompletableFuture<Integer> misreads = new CompletableFuture<>();
                    Thread opener = Thread.ofPlatform().start(() -> {
                        int bad = 0;
                        while (!stop.get()) {
                            List<java.io.FileInputStream> open = new ArrayList<>();
                            try {
                                for (int i = 0; i < 4; i++) open.add(new java.io.FileInputStream(file.toFile()));
                                for (java.io.FileInputStream in : open) if (in.read() != 'x') bad++;
                            } catch (IOException e) {
                                bad++; // EBADF: someone closed our number
                            }
                            for (java.io.FileInputStream in : open) outcome(in::close);
                        }
                        misreads.complete(bad);
                    });
                    for (int i = 0; i < 100; i++) {
                        Process p = s.start(new ProcessBuilder("true"));
                        InputStream in = p.getInputStream();
                        p.waitFor();
                        in.close();
                        p.getErrorStream().close();
                        p.getOutputStream().close();
                    }
                    stop.set(true);
                    opener.join(10_000);
                    boolean pipesBack = Processes.awaitCondition(Duration.ofSeconds(5), () -> pipes().equals(pipesBefore));
                    return List.of(misreads.get(10, TimeUnit.SECONDS), pipesBack);
                }),
                new Scenario("CloseRace: closing stdout while one thread reads it and another waits", s -> {
                    Process p = s.start(new ProcessBuilder("sleep", "30"));
                    CompletableFuture<String> read = new CompletableFuture<>();
                    Thread reader = Thread.ofPlatform().start(() -> read.complete(outcome(() -> p.getInputStream().read())));
                    CompletableFuture<String> waited = new CompletableFuture<>();
                    Thread waiter = Thread.ofPlatform().start(() -> waited.complete(outcome(p::waitFor)));
                    Processes.awaitBlocked(reader);
                    Processes.awaitBlocked(waiter);
                    p.getInputStream().close();
                    // Did the read end while the child lives? Seeing that it did not needs a bound: half a second for the JDK.
                    boolean readEnded = outcome(() -> read.get(s.fdkit ? 10_000 : 500, TimeUnit.MILLISECONDS)).equals("ok");
                    boolean stillWaiting = !waited.isDone() && p.isAlive();
                    p.destroyForcibly();
                    return List.of(readEnded, stillWaiting, read.get(10, TimeUnit.SECONDS), waited.get(10, TimeUnit.SECONDS), p.waitFor());
                }, List.of(false, true, "ok", "ok", 137), List.of(true, true, "IOException", "ok", 137),
                        "close() wakes a thread blocked reading the pipe, which gets an IOException at once; the JDK's close "
                                + "frees the descriptor while read(2) still blocks on it, until the child writes or exits"),
                // PipelineLeaksFD.java (JDK-8289643): after a pipeline's streams are read and closed and its processes
                // reaped, this JVM has exactly the pipes it had before.
                same("PipelineLeaksFD: 1, 2 and 5 cats, every stream read and closed: no pipe left", List.of(
                        "[xyz, null] pipes back: true", "[null, null, xyz, null] pipes back: true",
                        "[null, null, null, null, null, null, null, null, xyz, null] pipes back: true"), s -> {
                    List<String> results = new ArrayList<>();
                    for (int n : new int[] {1, 2, 5}) {
                        Map<String, Integer> before = pipes();
                        List<ProcessBuilder> builders = new ArrayList<>();
                        for (int i = 0; i < n; i++) builders.add(new ProcessBuilder("cat"));
                        List<Process> stages = s.startPipeline(builders);
                        try (java.io.Writer in = stages.getFirst().outputWriter()) {
                            in.write("xyz");
                        }
                        List<String> lines = new ArrayList<>();
                        for (Process p : stages) {
                            try (java.io.BufferedReader out = p.inputReader(); java.io.BufferedReader err = p.errorReader()) {
                                lines.add(out.readLine());
                                lines.add(err.readLine());
                            }
                        }
                        for (Process p : stages) p.waitFor();
                        boolean back = Processes.awaitCondition(Duration.ofSeconds(5), () -> pipes().equals(before));
                        results.add(lines + " pipes back: " + back);
                    }
                    return results;
                }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void theJdkAndTheViewObserveTheSame(Scenario scenario) throws Exception {
        Object jdk;
        Object fdkit;
        try (Starter starter = new Starter(false)) {
            jdk = scenario.observation().observe(starter);
        }
        try (Starter starter = new Starter(true)) {
            fdkit = scenario.observation().observe(starter);
        }
        assertThat(jdk).as("pb.start()").isEqualTo(scenario.jdk());
        assertThat(fdkit).as("ProcessDescriptor.start(pb).asProcess()" + (scenario.why().isEmpty() ? "" : ", differing on purpose: " + scenario.why()))
                .isEqualTo(scenario.fdkit());
        assertThat(zombieChildrenAfter(Duration.ofSeconds(5))).as("zombies").isEmpty();
    }

    @Test
    void aViewMadeAfterTheChildWasReapedHasTheHandleOfAnExitedProcess() throws Exception {
        try (ProcessDescriptor d = ProcessDescriptor.start(new ProcessBuilder("true"))) {
            d.waitFor(); // reaped: its pid may name another process from now on, so nothing is looked up by it
            Process p = d.asProcess();
            ProcessHandle h = p.toHandle();
            assertThat(h.pid()).isEqualTo(d.pid());
            assertThat(h.isAlive()).isFalse();
            assertThat(h.children()).isEmpty();
            assertThat(h.parent()).isEmpty();
            assertThat(h.info().command()).isEmpty();
            assertThat(h.onExit()).isCompletedWithValue(h);
            assertThat(h.destroy()).isFalse();
            assertThat(p.exitValue()).isZero();
        }
    }

    @Test
    void aViewOfAProcessThatIsNotOurChild() throws Exception {
        Process jdk = new ProcessBuilder("sleep", "30").redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD).start();
        try (ProcessDescriptor d = ProcessDescriptor.of(jdk.toHandle())) {
            Process p = d.asProcess();
            assertThat(p.isAlive()).isTrue();
            assertThat(p.toHandle()).isEqualTo(jdk.toHandle());
            p.destroy(); // through the pidfd
            assertThat(jdk.waitFor()).isEqualTo(143);
            // the JDK reaps it; its status reaches us through PIDFD_INFO_EXIT where the kernel has it (6.15+)
            assertThat(p.waitFor()).isEqualTo(Linux.has(Feature.PIDFD_INFO_EXIT) ? 143 : -1);
            assertThat(p.isAlive()).isFalse();
        } finally {
            jdk.getOutputStream().close();
        }
    }

    @Test
    void asProcessReturnsTheSameViewAndKeepsTheDescriptorReachable() throws Exception {
        ProcessDescriptor d = ProcessDescriptor.start(sh("read -r x; echo got $x"));
        java.lang.ref.WeakReference<ProcessDescriptor> descriptor = new java.lang.ref.WeakReference<>(d);
        Process p = d.asProcess();
        assertThat(d.asProcess()).isSameAs(p);
        assertThat(p.pid()).isEqualTo(d.pid());
        d = null; // `ProcessDescriptor.start(pb).asProcess()`: only the view holds the descriptor
        System.gc();
        assertThat(descriptor.get()).as("the view keeps the descriptor, and so its pipes, from the Cleaner").isNotNull();
        p.getOutputStream().write("x\n".getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        assertThat(readAll(p.getInputStream())).isEqualTo("got x\n");
        assertThat(p.waitFor()).isZero();
        descriptor.get().close();
    }
}
