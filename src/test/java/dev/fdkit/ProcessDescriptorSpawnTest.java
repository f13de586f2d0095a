package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static dev.fdkit.Processes.SIGKILL;
import static dev.fdkit.Processes.SIGTERM;
import static dev.fdkit.Processes.await;
import static dev.fdkit.Processes.fdCount;
import static dev.fdkit.Processes.fdCountSettlingTo;
import static dev.fdkit.Processes.readAll;
import static dev.fdkit.Processes.stat;
import static dev.fdkit.Processes.zombieChildren;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * ProcessDescriptor.start behaves as java.lang.ProcessBuilder.start does (the JDK's
 * test/jdk/java/lang/ProcessBuilder/Basic.java as the checklist), plus fdkit's own options.
 */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProcessDescriptorSpawnTest {

    @TempDir
    Path tmp;

    private static ProcessBuilder sh(String script) {
        return new ProcessBuilder("/bin/sh", "-c", script);
    }

    /** Starts, collects stdout (and stderr, if piped separately), waits for exit. */
    private record Run(ExitStatus status, String stdout, String stderr) {}

    private static Run run(ProcessBuilder pb, SpawnOption... options) throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(pb, options)) {
            p.stdin().close();
            CompletableFuture<String> err = CompletableFuture.supplyAsync(unchecked(() -> readAll(p.stderr())));
            String out = readAll(p.stdout());
            ExitStatus status = await(p.onExit(), 10);
            return new Run(status, out, await(err, 10));
        }
    }

    private interface IoSupplier<T> {
        T get() throws IOException;
    }

    private static <T> Supplier<T> unchecked(IoSupplier<T> s) {
        return () -> {
            try {
                return s.get();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
    }

    // ------------------------------------------------------------------ exit status

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 42, 255})
    void exitCodeIsReportedExactly(int code) throws Exception {
        Run r = run(sh("exit " + code));
        assertThat(r.status().kind()).isEqualTo(ExitStatus.Kind.EXITED);
        assertThat(r.status().code()).isEqualTo(code);
        assertThat(r.status().success()).isEqualTo(code == 0);
        assertThat(r.status().shellCode()).isEqualTo(code);
    }

    @Test
    void deathBySignalIsReportedAsKilledWithThatSignal() throws Exception {
        ExitStatus term = run(sh("kill -TERM $$")).status();
        assertThat(term.kind()).isEqualTo(ExitStatus.Kind.KILLED);
        assertThat(term.signal()).isEqualTo(SIGTERM);
        assertThat(term.shellCode()).isEqualTo(128 + SIGTERM);
        assertThat(term.toString()).isEqualTo("killed by SIGTERM");

        ExitStatus kill = run(sh("kill -KILL $$")).status();
        assertThat(kill.kind()).isEqualTo(ExitStatus.Kind.KILLED);
        assertThat(kill.signal()).isEqualTo(SIGKILL);
        assertThat(kill.coreDumped()).as("SIGKILL never dumps core").isFalse();
    }

    @Test
    void childrenCarryTheirResourceUsage() throws Exception {
        ExitStatus quick = run(new ProcessBuilder("true")).status();
        assertThat(quick.resourceUsage()).isPresent();
        assertThat(quick.usage().maxRssKilobytes()).isPositive();

        ExitStatus busy = run(sh("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done")).status();
        assertThat(busy.success()).isTrue();
        assertThat(busy.usage().cpuTime()).isGreaterThan(Duration.ZERO);
        assertThat(busy.usage().userTime()).isGreaterThan(Duration.ZERO);
        assertThat(busy.usage().cpuTime()).isLessThan(Duration.ofSeconds(30));
    }

    // ------------------------------------------------------------------ environment and directory

    @Test
    void clearedAndFilledEnvironmentIsExactlyWhatTheChildSees() throws Exception {
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/env");
        pb.environment().clear();
        pb.environment().put("FDKIT_A", "one two");
        pb.environment().put("FDKIT_EMPTY", "");
        pb.environment().put("FDKIT_UNICODE", "é€");
        Run r = run(pb);
        assertThat(r.status().success()).isTrue();
        assertThat(r.stdout().lines()).containsExactlyInAnyOrder("FDKIT_A=one two", "FDKIT_EMPTY=", "FDKIT_UNICODE=é€");
    }

    @Test
    void environmentIsInheritedByDefault() throws Exception {
        // The JVM's environment exactly (fdkit passes a cached envp for it), and again after another spawn
        // changed one variable: the cache is never the changed copy.
        Run inherited = run(new ProcessBuilder("/usr/bin/env", "-0"));
        assertThat(environmentOf(inherited)).isEqualTo(System.getenv());
        ProcessBuilder changed = new ProcessBuilder("/usr/bin/env", "-0");
        changed.environment().put("FDKIT_CHANGED", "yes");
        assertThat(environmentOf(run(changed))).containsEntry("FDKIT_CHANGED", "yes").hasSize(System.getenv().size() + 1);
        assertThat(environmentOf(run(new ProcessBuilder("/usr/bin/env", "-0")))).isEqualTo(System.getenv());
    }

    @Test
    void anEnvironmentOfTheSameSizeAsTheJvmsButNotEqualIsPassedAsItIs() throws Exception {
        // The check for "the JVM's own" compares every variable, not the size: one value changed, or one
        // variable swapped for another, is the builder's environment.
        String name = System.getenv().keySet().iterator().next();
        ProcessBuilder changedValue = new ProcessBuilder("/usr/bin/env", "-0");
        changedValue.environment().put(name, System.getenv(name) + "-changed");
        Map<String, String> expected = new HashMap<>(System.getenv());
        expected.put(name, System.getenv(name) + "-changed");
        assertThat(environmentOf(run(changedValue))).isEqualTo(expected);

        ProcessBuilder swapped = new ProcessBuilder("/usr/bin/env", "-0");
        swapped.environment().remove(name);
        swapped.environment().put("FDKIT_SWAPPED_IN", "yes");
        expected = new HashMap<>(System.getenv());
        expected.remove(name);
        expected.put("FDKIT_SWAPPED_IN", "yes");
        assertThat(environmentOf(run(swapped))).isEqualTo(expected);
    }

    private static Map<String, String> environmentOf(Run r) {
        Map<String, String> environment = new HashMap<>();
        for (String entry : r.stdout().split("\0")) {
            if (entry.isEmpty()) continue;
            int eq = entry.indexOf('=');
            environment.put(entry.substring(0, eq), entry.substring(eq + 1));
        }
        return environment;
    }

    @Test
    void childRunsInTheGivenDirectory() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("work dir"));
        Run r = run(new ProcessBuilder("/bin/pwd", "-P").directory(dir.toFile()));
        assertThat(r.stdout().strip()).isEqualTo(dir.toRealPath().toString());
        // and a relative program path is resolved there, as execve does after chdir
        Path script = dir.resolve("hello.sh");
        Files.writeString(script, "#!/bin/sh\necho hello from $0\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertThat(run(new ProcessBuilder("./hello.sh").directory(dir.toFile())).stdout()).isEqualTo("hello from ./hello.sh\n");
    }

    @Test
    void missingDirectoryFailsWithIOExceptionAndNoZombie() throws Exception {
        int fds = fdCount();
        assertThatThrownBy(() -> ProcessDescriptor.start(new ProcessBuilder("true").directory(tmp.resolve("absent").toFile())))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("ENOENT");
        assertThat(zombieChildren()).isEmpty();
        assertThat(fdCountSettlingTo(fds)).isEqualTo(fds);
    }

    // ------------------------------------------------------------------ redirects

    @Test
    void pipesConnectStdinStdoutAndStderr() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(sh("cat; echo to-stderr >&2"))) {
            p.stdin().write("hello through cat\n".getBytes(StandardCharsets.UTF_8));
            p.stdin().close();
            assertThat(readAll(p.stdout())).isEqualTo("hello through cat\n");
            assertThat(readAll(p.stderr())).isEqualTo("to-stderr\n");
            assertThat(p.waitFor().success()).isTrue();
        }
    }

    @Test
    void megabytesFlowThroughStdinAndStdoutWithoutDeadlock() throws Exception {
        byte[] data = new byte[4 << 20];
        new Random(42).nextBytes(data);
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("cat"))) {
            CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(unchecked(() -> p.stdout().readAllBytes()));
            try (OutputStream in = p.stdin()) {
                for (int off = 0; off < data.length; off += 100_000) in.write(data, off, Math.min(100_000, data.length - off));
            }
            assertThat(Arrays.equals(await(out, 20), data)).as("cat returned the same 4 MiB").isTrue();
            assertThat(await(p.onExit(), 10).success()).isTrue();
        }
    }

    @Test
    void inheritStartsAndRunsWithOurStreams() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("true").inheritIO())) {
            assertThat(p.stdout().read()).as("no pipe: an empty stream").isEqualTo(-1);
            assertThat(p.stderr().read()).isEqualTo(-1);
            assertThat(await(p.onExit(), 10).success()).isTrue();
        }
        try (ProcessDescriptor p = ProcessDescriptor.spawn("sh", "-c", "exit 0")) {
            assertThat(await(p.onExit(), 10).success()).isTrue();
        }
    }

    /** The JDK's ProcessBuilder.NullOutputStream and NullInputStream, for a descriptor that is not a pipe. */
    @Test
    void streamsOfDescriptorsThatAreNotPipesBehaveAsTheJdks() throws Exception {
        ProcessBuilder pb = new ProcessBuilder("true").inheritIO();
        Process jdk = pb.start();
        try (ProcessDescriptor p = ProcessDescriptor.start(pb)) {
            for (OutputStream stdin : List.of(jdk.getOutputStream(), p.stdin())) {
                assertThatThrownBy(() -> stdin.write(1)).as("%s", stdin).isInstanceOf(IOException.class).hasMessageStartingWith("Stream closed");
                assertThatThrownBy(() -> stdin.write(new byte[3])).isInstanceOf(IOException.class);
                stdin.write(new byte[0]); // nothing to write: no error
                stdin.close();
            }
            for (InputStream stdout : List.of(jdk.getInputStream(), jdk.getErrorStream(), p.stdout(), p.stderr())) {
                assertThat(stdout.available()).isZero();
                assertThat(stdout.read(new byte[4])).isEqualTo(-1);
                stdout.close();
                assertThat(stdout.read()).as("still empty after close").isEqualTo(-1);
                assertThat(stdout.available()).isZero();
            }
            assertThat(await(p.onExit(), 10).success()).isTrue();
        } finally {
            jdk.waitFor();
        }
    }

    @Test
    void availableCountsTheBytesInThePipeAsTheJdksDoes() throws Exception {
        // One write of 3 bytes each, then the child waits for stdin to close: after the first byte is read,
        // exactly 2 are waiting in each pipe.
        ProcessBuilder pb = sh("printf abc; printf xyz >&2; exec cat >/dev/null");
        Process jdk = pb.start();
        try (ProcessDescriptor p = ProcessDescriptor.start(pb)) {
            for (InputStream in : List.of(jdk.getInputStream(), jdk.getErrorStream(), p.stdout(), p.stderr())) {
                assertThat(in.read()).as("%s", in).isIn((int) 'a', (int) 'x');
                assertThat(in.available()).as("%s", in).isEqualTo(2);
            }
            jdk.getOutputStream().close();
            p.stdin().close();
            assertThat(readAll(p.stdout())).isEqualTo("bc");
            assertThat(p.stdout().available()).as("at end of stream").isZero();
            assertThat(await(p.onExit(), 10).success()).isTrue();
            p.close();
            assertThatThrownBy(() -> p.stdout().available()).isInstanceOf(IOException.class).hasMessageContaining("closed");
        } finally {
            jdk.getOutputStream().close(); // ends its cat, also when an assertion failed before
            jdk.waitFor();
            jdk.getInputStream().close();
            jdk.getErrorStream().close();
        }
    }

    @Test
    void discardSendsOutputToDevNull() throws Exception {
        // $(...) runs in a subshell while the shell's own descriptor 1 is untouched (a plain `cmd >&2` would
        // have dash move its descriptors around for the duration of cmd)
        Run r = run(sh("fd1=$(readlink /proc/$$/fd/1); echo \"$fd1\" >&2; echo lost").redirectOutput(Redirect.DISCARD));
        assertThat(r.stdout()).isEmpty();
        assertThat(r.stderr()).isEqualTo("/dev/null\n");

        Run both = run(sh("echo out; echo err >&2").redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD));
        assertThat(both.status().success()).isTrue();
        assertThat(both.stdout()).isEmpty();
        assertThat(both.stderr()).isEmpty();
    }

    @Test
    void redirectFromFileFeedsStdin() throws Exception {
        Path input = Files.writeString(tmp.resolve("in.txt"), "line one\nline two\n");
        Run r = run(new ProcessBuilder("cat").redirectInput(Redirect.from(input.toFile())));
        assertThat(r.stdout()).isEqualTo("line one\nline two\n");
    }

    @Test
    void redirectToFileCreatesOrTruncates() throws Exception {
        Path out = Files.writeString(tmp.resolve("out.txt"), "old content, longer than the new one\n");
        Run r = run(sh("echo new").redirectOutput(Redirect.to(out.toFile())));
        assertThat(r.status().success()).isTrue();
        assertThat(r.stdout()).isEmpty();
        assertThat(Files.readString(out)).isEqualTo("new\n");

        Path fresh = tmp.resolve("fresh.txt");
        run(sh("echo err >&2").redirectError(Redirect.to(fresh.toFile())));
        assertThat(Files.readString(fresh)).isEqualTo("err\n");
    }

    @Test
    void appendToFileAppends() throws Exception {
        Path log = Files.writeString(tmp.resolve("log.txt"), "first\n");
        run(sh("echo second").redirectOutput(Redirect.appendTo(log.toFile())));
        run(sh("echo third >&2").redirectError(Redirect.appendTo(log.toFile())));
        assertThat(Files.readString(log)).isEqualTo("first\nsecond\nthird\n");
    }

    @Test
    void redirectErrorStreamMergesStderrIntoStdout() throws Exception {
        Run r = run(sh("echo out1; echo err1 >&2; echo out2; echo err2 >&2").redirectErrorStream(true));
        assertThat(r.stdout()).isEqualTo("out1\nerr1\nout2\nerr2\n");
        assertThat(r.stderr()).as("no separate stderr").isEmpty();

        Path file = tmp.resolve("merged.txt");
        run(sh("echo out; echo err >&2").redirectErrorStream(true).redirectOutput(file.toFile()));
        assertThat(Files.readString(file)).isEqualTo("out\nerr\n");
    }

    @Test
    void redirectFromMissingFileFailsNamingTheFileAndLeaksNothing() throws Exception {
        int fds = fdCount();
        Path missing = tmp.resolve("no-such-input.txt");
        assertThatThrownBy(() -> ProcessDescriptor.start(new ProcessBuilder("cat").redirectInput(missing.toFile())))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("ENOENT");
        // a later redirect failing must close the pipes and files opened for the earlier ones
        assertThatThrownBy(() -> ProcessDescriptor.start(new ProcessBuilder("cat")
                .redirectInput(Redirect.PIPE)
                .redirectOutput(tmp.resolve("missing-dir/out.txt").toFile())))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("missing-dir/out.txt");
        assertThat(zombieChildren()).isEmpty();
        assertThat(fdCountSettlingTo(fds)).isEqualTo(fds);
    }

    // ------------------------------------------------------------------ exec failures

    @Test
    void aMissingWorkingDirectoryIsNamedNotTheProgram() {
        File missing = tmp.resolve("no such dir").toFile();
        assertThatThrownBy(() -> ProcessDescriptor.start(new ProcessBuilder("true").directory(missing)))
                .isInstanceOf(ErrnoException.class)
                .hasMessageContaining("chdir(\"" + missing.getPath() + "\", the working directory for \"true\")")
                .hasMessageContaining("ENOENT");
        assertThat(Processes.zombieChildren()).isEmpty();
    }

    @Test
    void nonexistentProgramFailsWithEnoentNamingIt() throws Exception {
        assertExecFails("/nonexistent/fdkit-no-such-program", "ENOENT");
        assertExecFails("fdkit-no-such-program-on-path", "ENOENT");
    }

    @Test
    void directoryAsProgramFailsWithEacces() throws Exception {
        assertExecFails(tmp.toString(), "EACCES");
    }

    @Test
    void fileWithoutExecuteBitFailsWithEacces() throws Exception {
        Path script = Files.writeString(tmp.resolve("not-executable.sh"), "#!/bin/sh\nexit 0\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-r--r--"));
        assertExecFails(script.toString(), "EACCES");
    }

    /** execvp(3) and the JDK run an executable that is neither ELF nor #! (ENOEXEC) as a /bin/sh script. */
    @Test
    void aScriptWithoutShebangRunsThroughTheShellAsWithTheJdk() throws Exception {
        Path script = Files.writeString(tmp.resolve("no-shebang"), "echo \"$0 got $1 in $(pwd)\"; exit 7\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        for (ProcessBuilder pb : List.of(new ProcessBuilder(script.toString(), "one arg"),
                new ProcessBuilder("./no-shebang", "x").directory(tmp.toFile()))) { // found from the child's directory
            Process jdk = pb.start();
            String jdkOut = new String(jdk.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(jdk.waitFor()).isEqualTo(7);
            jdk.getInputStream().close();
            jdk.getErrorStream().close();
            Run r = run(pb);
            assertThat(r.status().code()).isEqualTo(7);
            assertThat(r.stdout()).isEqualTo(jdkOut).startsWith(pb.command().getFirst() + " got " + pb.command().get(1) + " in ");
        }
        assertThat(zombieChildren()).isEmpty();
    }

    /**
     * Found on PATH, a script without #! runs through /bin/sh with the path the search found: the first
     * executable file of that name (a non-executable one earlier on PATH is skipped, as execvp skips it on
     * EACCES). PATH is read once per JVM, so this runs in a fresh one.
     */
    @Test
    void aScriptWithoutShebangFoundOnPathRunsThroughTheShell() throws Exception {
        Path shadowed = Files.createDirectory(tmp.resolve("first-on-path"));
        Files.writeString(shadowed.resolve("fdkit-no-shebang"), "echo wrong one\n"); // not executable
        Path bin = Files.createDirectory(tmp.resolve("bin"));
        Path script = Files.writeString(bin.resolve("fdkit-no-shebang"), "echo \"$0 got $1\"\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        ScenarioJvm.Result r = ScenarioJvm.run(PathScript.class, Duration.ofSeconds(30), List.of(),
                Map.of("PATH", shadowed + ":" + bin + ":/usr/bin:/bin"));
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.value("out")).isEqualTo(script + " got an arg");
    }

    /** Main class of the PATH test's fresh JVM. */
    static final class PathScript {
        public static void main(String[] args) throws Exception {
            try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("fdkit-no-shebang", "an arg"))) {
                System.out.println("out=" + readAll(p.stdout()).strip());
                System.exit(p.waitFor().code());
            }
        }
    }

    private static void assertExecFails(String program, String errno) throws Exception {
        try (ProcessDescriptor warm = ProcessDescriptor.start(new ProcessBuilder("true"))) {
            warm.waitFor(); // lazily opened descriptors are part of the baseline
        }
        int fds = fdCount();
        for (ProcessBuilder pb : List.of(new ProcessBuilder(program, "arg"),
                new ProcessBuilder(program).redirectInput(Redirect.PIPE).redirectOutput(Redirect.PIPE).redirectError(Redirect.PIPE))) {
            assertThatThrownBy(() -> ProcessDescriptor.start(pb))
                    .isInstanceOf(ErrnoException.class)
                    .hasMessageContaining(program)
                    .hasMessageContaining(errno)
                    .satisfies(e -> assertThat(((ErrnoException) e).errnoName()).isEqualTo(errno));
        }
        assertThat(zombieChildren()).as("no zombie after a failed exec").isEmpty();
        assertThat(fdCountSettlingTo(fds)).as("no descriptor left behind").isEqualTo(fds);
    }

    /**
     * posix_spawnp has started the child when pidfd_open fails (here EMFILE, our descriptor limit lowered for a
     * moment): the child must not be left running unwatched, to become a zombie nobody reaps.
     */
    @Test
    @SuppressWarnings("restricted") // getrlimit/setrlimit linked by hand, for this test only
    void descriptorExhaustionAfterTheSpawnLeavesNoChildBehind() throws Throwable {
        Linker linker = Linker.nativeLinker();
        FunctionDescriptor rlimitCall = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
        MethodHandle getrlimit = linker.downcallHandle(linker.defaultLookup().find("getrlimit").orElseThrow(), rlimitCall);
        MethodHandle setrlimit = linker.downcallHandle(linker.defaultLookup().find("setrlimit").orElseThrow(), rlimitCall);
        int rlimitNofile = 7; // RLIMIT_NOFILE on x86_64 and aarch64 (asm-generic)
        ProcessBuilder pb = new ProcessBuilder("sleep", "30").redirectInput(Redirect.INHERIT)
                .redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD);
        // warm up every class of the spawn and error paths: loading a class later would need a descriptor
        try (ProcessDescriptor warm = ProcessDescriptor.start(pb)) {
            warm.kill();
            warm.waitFor();
        }
        assertThatThrownBy(() -> ProcessDescriptor.open(Processes.unusedPid())).isInstanceOf(ErrnoException.class);
        List<Long> childrenBefore = Processes.children();
        int fds = fdCount();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment saved = arena.allocate(16, 8);
            MemorySegment lowered = arena.allocate(16, 8);
            assertThat((int) getrlimit.invokeExact(rlimitNofile, saved)).isZero();
            // two opens (/dev/null for stdout and stderr) still fit, the pidfd after the spawn does not
            List<Integer> free = Processes.freeDescriptorNumbers(3);
            lowered.set(JAVA_LONG, 0, free.get(2));
            lowered.set(JAVA_LONG, 8, saved.get(JAVA_LONG, 8));
            Throwable failure;
            int r = (int) setrlimit.invokeExact(rlimitNofile, lowered);
            try {
                failure = catchThrowable(() -> ProcessDescriptor.start(pb));
            } finally {
                r |= (int) setrlimit.invokeExact(rlimitNofile, saved);
            }
            assertThat(r).isZero();
            assertThat(failure).isInstanceOf(ErrnoException.class).hasMessageContaining("EMFILE").hasMessageContaining("sleep");
        }
        assertThat(Processes.children()).as("no child left running or unreaped").isEqualTo(childrenBefore);
        assertThat(fdCountSettlingTo(fds)).isEqualTo(fds);
    }

    // ------------------------------------------------------------------ argument checks

    @Test
    void nulCharactersAreRejectedNamingWhere() throws InterruptedException {
        assertThatThrownBy(() -> ProcessDescriptor.start(new ProcessBuilder("echo", "a\0b")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("command");
        // ProcessBuilder's environment map refuses NUL itself, so fdkit's own check is only a second line
        assertThatThrownBy(() -> new ProcessBuilder("true").environment().put("BAD\0NAME", "x"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ProcessBuilder("true").environment().put("FDKIT_BAD", "x\0y"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ProcessDescriptor.start(new ProcessBuilder("true").directory(new java.io.File("/tmp\0x"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("directory");
        assertThatThrownBy(() -> ProcessDescriptor.start(new ProcessBuilder("true").redirectOutput(new java.io.File("/tmp/a\0b"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("redirect file");
        assertThat(Processes.zombieChildrenAfter(Duration.ofSeconds(10))).as("none left behind (an earlier test's child may still be on its way to being reaped)").isEmpty();
    }

    @Test
    void aNulInAnyRedirectFileIsRejectedAndThePipesAlreadyMadeAreClosed() throws Exception {
        int fds = fdCount();
        File bad = new File("/tmp/a\0b");
        // stdin is a PIPE (made first) in the last three: the rejection must close it again.
        for (ProcessBuilder pb : List.of(new ProcessBuilder("true").redirectInput(bad), new ProcessBuilder("true").redirectError(bad),
                new ProcessBuilder("true").redirectOutput(Redirect.appendTo(bad)), new ProcessBuilder("true").redirectError(Redirect.appendTo(bad)))) {
            assertThatThrownBy(() -> ProcessDescriptor.start(pb)).as("%s %s %s", pb.redirectInput(), pb.redirectOutput(), pb.redirectError())
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("redirect file").hasMessageContaining("a\\0b");
        }
        assertThat(fdCount()).isEqualTo(fds);
        assertThat(zombieChildren()).isEmpty();
    }

    @Test
    void nullsInsideTheCommandOrTheOptionsAreNamedWithTheirIndex() {
        ProcessBuilder pb = new ProcessBuilder(Arrays.asList("echo", null, "x"));
        assertThatThrownBy(() -> ProcessDescriptor.start(pb)).isInstanceOf(NullPointerException.class).hasMessage("command[1] is null");
        assertThatThrownBy(() -> ProcessDescriptor.start(new ProcessBuilder("true"), SpawnOption.NEW_SESSION, null))
                .isInstanceOf(NullPointerException.class).hasMessage("options[1] is null");
        assertThatThrownBy(() -> ProcessDescriptor.start(new ProcessBuilder("true"), (SpawnOption[]) null))
                .isInstanceOf(NullPointerException.class).hasMessage("options");
        assertThat(zombieChildren()).as("nothing was started").isEmpty();
    }

    @Test
    void emptyCommandIsRejected() {
        assertThatThrownBy(() -> ProcessDescriptor.start(new ProcessBuilder()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> ProcessDescriptor.spawn())
                .isInstanceOf(IllegalArgumentException.class);
    }

    // ------------------------------------------------------------------ what the child inherits

    @Test
    void childHasEmptySignalMaskAndDefaultDispositions() throws Exception {
        Run r = run(new ProcessBuilder("grep", "-E", "SigBlk|SigIgn", "/proc/self/status"));
        assertThat(r.stdout().lines()).containsExactlyInAnyOrder("SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000");
    }

    @Test
    @SuppressWarnings("try") // the resources are held open, not used
    void childHasOnlyDescriptorsZeroOneTwo() throws Exception {
        // Extra descriptors of ours, some without close-on-exec as java.io opens them: none may reach the child.
        try (InputStream held = Files.newInputStream(Files.writeString(tmp.resolve("held"), "x"));
             java.io.FileInputStream plain = new java.io.FileInputStream(tmp.resolve("held").toFile());
             // not sh -c: Debian's dash forks its last command instead of exec'ing it, and KILL_ON_CLOSE kills
             // the child only, so the sleep would outlive the test as an orphan
             ProcessDescriptor other = ProcessDescriptor.start(new ProcessBuilder("sleep", "30"), SpawnOption.KILL_ON_CLOSE)) {
            for (ProcessBuilder pb : List.of(sh("ls -l /proc/$$/fd"), sh("ls -l /proc/$$/fd").inheritIO().redirectOutput(Redirect.PIPE),
                    sh("ls -l /proc/$$/fd").redirectErrorStream(true))) {
                // ls lists the shell's descriptors (the shell waits for ls meanwhile), not its own directory handle
                Run r = run(pb);
                List<String> names = r.stdout().lines().filter(l -> l.contains(" -> "))
                        .map(l -> l.substring(0, l.indexOf(" -> ")))
                        .map(l -> l.substring(l.lastIndexOf(' ') + 1)).toList();
                assertThat(names).as("descriptors of the child:\n" + r.stdout()).containsExactly("0", "1", "2");
            }
        }
    }

    // ------------------------------------------------------------------ fdkit options

    @Test
    void newSessionMakesTheChildSessionAndGroupLeader() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("sleep", "30"), SpawnOption.NEW_SESSION, SpawnOption.KILL_ON_CLOSE)) {
            Processes.Stat s = stat(p.pid());
            assertThat(s.session()).isEqualTo(p.pid());
            assertThat(s.pgrp()).isEqualTo(p.pid());
            assertThat(s.ppid()).isEqualTo(Processes.OUR_PID);
        }
    }

    @Test
    void newProcessGroupMakesTheChildGroupLeaderInOurSession() throws Exception {
        Processes.Stat ours = stat(Processes.OUR_PID);
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("sleep", "30"), SpawnOption.NEW_PROCESS_GROUP, SpawnOption.KILL_ON_CLOSE)) {
            Processes.Stat s = stat(p.pid());
            assertThat(s.pgrp()).isEqualTo(p.pid());
            assertThat(s.session()).isEqualTo(ours.session());
        }
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("sleep", "30"), SpawnOption.KILL_ON_CLOSE)) {
            assertThat(stat(p.pid()).pgrp()).as("without options: our group").isEqualTo(ours.pgrp());
        }
    }

    @Test
    void killOnCloseKillsAndReapsTheChild() throws Exception {
        ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("sleep", "30"), SpawnOption.KILL_ON_CLOSE);
        CompletableFuture<ExitStatus> exit = p.onExit();
        assertThat(p.isAlive()).isTrue();
        p.close();
        ExitStatus status = await(exit, 5);
        assertThat(status.kind()).isEqualTo(ExitStatus.Kind.KILLED);
        assertThat(status.signal()).isEqualTo(SIGKILL);
        assertThat(p.isAlive()).isFalse();
        assertThat(stat(p.pid())).as("reaped, not a zombie").isNull();
        p.close(); // idempotent
    }

    @Test
    void closeWithoutKillOnCloseLeavesTheChildRunningAndStillReapsIt() throws Exception {
        ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("sleep", "30"));
        CompletableFuture<ExitStatus> exit = p.onExit();
        p.close();
        assertThat(exit).isNotDone();
        ProcessHandle handle = ProcessHandle.of(p.pid()).orElseThrow();
        assertThat(handle.isAlive()).isTrue();
        assertThatThrownBy(p::kill).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        handle.destroyForcibly();
        ExitStatus status = await(exit, 5);
        assertThat(status.kind()).isEqualTo(ExitStatus.Kind.KILLED);
        assertThat(status.signal()).isEqualTo(SIGKILL);
        assertThat(zombieChildren()).isEmpty();
    }

    @Test
    void onExitCannotBeCompletedByCallers() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("sleep", "30"), SpawnOption.KILL_ON_CLOSE)) {
            CompletableFuture<ExitStatus> mine = p.onExit();
            mine.complete(ExitStatus.exited(99, null));
            mine.cancel(true);
            assertThat(p.onExit()).isNotDone();
            assertThat(p.isAlive()).isTrue();
            p.kill();
            assertThat(await(p.onExit(), 5).signal()).isEqualTo(SIGKILL);
        }
    }

    @Test
    void stdoutOfASilentChildIsEmptyNotHanging() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("true"))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            p.stdout().transferTo(out);
            assertThat(out.size()).isZero();
            assertThat(p.waitFor().success()).isTrue();
        }
    }
}
