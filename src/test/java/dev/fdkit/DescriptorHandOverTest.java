package dev.fdkit;

import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.fdkit.Processes.await;
import static dev.fdkit.Processes.readAll;
import static dev.fdkit.Processes.zombieChildrenAfter;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Descriptors handed to a child at chosen numbers (passDescriptor), and taken from a running one (pidfd_getfd). */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DescriptorHandOverTest {

    @TempDir
    Path tmp;

    /** Two pipes; each end is ours (close-on-exec) until closed. */
    private record Pipe(int readEnd, int writeEnd) implements AutoCloseable {
        static Pipe open() throws SyscallException {
            long ends = Syscalls.pipe2(Uapi.O_CLOEXEC);
            return new Pipe((int) ends, (int) (ends >>> 32));
        }

        @Override
        public void close() throws SyscallException {
            Syscalls.close(readEnd);
            Syscalls.close(writeEnd);
        }
    }

    private static String link(String procFd) throws Exception {
        return Files.readSymbolicLink(Path.of(procFd)).toString();
    }

    /** The child's descriptors as {@code ls -ln /proc/self/fd} sees them (ls's own directory descriptor left out): number -> target. */
    private static Map<Integer, String> descriptorsOfChild(SpawnOption... options) throws Exception {
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("ls", "-ln", "/proc/self/fd"), options)) {
            String listing = readAll(child.stdout());
            assertThat(await(child.onExit(), 10).code()).isZero();
            Map<Integer, String> fds = new TreeMap<>();
            for (String line : listing.split("\n")) {
                int arrow = line.indexOf(" -> ");
                if (arrow < 0) continue; // "total 0"
                String[] before = line.substring(0, arrow).trim().split(" +");
                String target = line.substring(arrow + 4);
                if (target.matches("/proc/[0-9]+/fd")) continue; // the directory ls is reading
                fds.put(Integer.parseInt(before[before.length - 1]), target);
            }
            return fds;
        }
    }

    @Test
    void theChildHasExactlyStdioAndThePassedDescriptorsAtTheAskedNumbersEvenWhenTheNumbersCollide() throws Exception {
        try (Pipe a = Pipe.open(); Pipe b = Pipe.open()) {
            String pipeA = link("/proc/self/fd/" + a.readEnd());
            String pipeB = link("/proc/self/fd/" + b.readEnd());
            // a's read end goes where b's read end is in this process, and the other way round: a dup2 in request
            // order would overwrite one source before it is copied.
            Map<Integer, String> fds = descriptorsOfChild(
                    SpawnOption.passDescriptor(a.readEnd(), b.readEnd()),
                    SpawnOption.passDescriptor(b.readEnd(), a.readEnd()),
                    SpawnOption.passDescriptor(a.writeEnd(), 3)); // 3: also, most likely, a number open here (a jar...)
            assertThat(fds.keySet()).containsExactlyInAnyOrder(0, 1, 2, 3, a.readEnd(), b.readEnd());
            assertThat(fds.get(b.readEnd())).isEqualTo(pipeA);
            assertThat(fds.get(a.readEnd())).isEqualTo(pipeB);
            assertThat(fds.get(3)).isEqualTo(pipeA);
        }
        assertThat(zombieChildrenAfter(Duration.ofSeconds(2))).isEmpty();
    }

    @Test
    void withoutPassedDescriptorsTheChildHasStdioOnly() throws Exception {
        assertThat(descriptorsOfChild().keySet()).containsExactly(0, 1, 2);
    }

    @Test
    void thePassedDescriptorIsTheSameOpenPipeAndNothingElseHoldsItsWriteEnd() throws Exception {
        Pipe pipe = Pipe.open();
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "cat <&7"), SpawnOption.passDescriptor(pipe.readEnd(), 7))) {
            Syscalls.close(pipe.readEnd()); // the child has its own copy now
            try (Arena arena = Arena.ofConfined()) {
                assertThat(Syscalls.write(pipe.writeEnd(), arena.allocateFrom("hello", StandardCharsets.US_ASCII), 5)).isEqualTo(5);
            }
            Syscalls.close(pipe.writeEnd()); // the only write end: cat sees EOF, unless a copy leaked into the child
            assertThat(readAll(child.stdout())).isEqualTo("hello");
            assertThat(await(child.onExit(), 10).code()).isZero();
        }
    }

    @Test
    void badPassedDescriptorsAreRejectedNamingTheArgumentAndTheRule() throws Exception {
        assertThatThrownBy(() -> SpawnOption.passDescriptor(-1, 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("parentFd must be >= 0, was -1");
        assertThatThrownBy(() -> SpawnOption.passDescriptor(0, -3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("childFd must be >= 3");
        assertThatThrownBy(() -> SpawnOption.passDescriptor(0, 2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("childFd must be >= 3 (0-2 are the ProcessBuilder's stdin, stdout and stderr), was 2");
        int children = Processes.children().size();
        assertThatThrownBy(() -> ProcessDescriptor.start(new ProcessBuilder("true"), SpawnOption.passDescriptor(0, 5), SpawnOption.passDescriptor(1, 5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("options: childFd 5 must be passed at most once: passDescriptor(0 as 5), passDescriptor(1 as 5)");
        int neverOpen = 1 << 20; // above fs.nr_open's default: no descriptor has it
        assertThatThrownBy(() -> ProcessDescriptor.start(new ProcessBuilder("true"), SpawnOption.passDescriptor(neverOpen, 3)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("options: passDescriptor(" + neverOpen + " as 3): parentFd " + neverOpen + " must be an open descriptor of this process");
        assertThat(Processes.children()).as("nothing started").hasSize(children);
    }

    // ------------------------------------------------------------------ pidfd_getfd

    @Test
    void aDescriptorTakenFromARunningChildSharesItsOpenFile() throws Exception {
        assumeTrue(ptraceScope() < 3, "Yama ptrace_scope 3 forbids pidfd_getfd for everyone");
        Path file = Files.writeString(tmp.resolve("lines"), "first\nsecond\nthird\n");
        // The child reads the first line through its descriptor 5 (dash's read takes one byte at a time, so the
        // offset stops right after it), says so, and waits with the file still open.
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", "exec 5<\"$0\"; read line <&5; echo \"$line\"; read wait", file.toString());
        try (ProcessDescriptor child = ProcessDescriptor.start(pb)) {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.stdout(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("first");
            int before = Processes.fdCount();
            try (OwnedDescriptor taken = child.duplicateDescriptor(5)) {
                assertThat(Processes.fdCount()).isEqualTo(before + 1);
                assertThat(link("/proc/self/fd/" + taken.fd())).isEqualTo(file.toRealPath().toString());
                assertThat(Syscalls.fcntl(taken.fd(), dev.fdkit.internal.linux.fdkit_h.F_GETFD(), 0) & 1).as("FD_CLOEXEC").isEqualTo(1);
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment buffer = arena.allocate(64);
                    long n = Syscalls.read(taken.fd(), buffer, 64);
                    // the same open file description: the child's offset, not a fresh open of the file
                    assertThat(buffer.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                            .asString(StandardCharsets.US_ASCII).isEqualTo("second\nthird\n");
                }
            }
            assertThat(Processes.fdCount()).as("closed").isEqualTo(before);
            child.stdin().write('\n');
            child.stdin().flush();
            assertThat(await(child.onExit(), 10).code()).isZero();
        }
        assertThat(zombieChildrenAfter(Duration.ofSeconds(2))).isEmpty();
    }

    @Test
    void takingADescriptorThatIsNotOpenFailsWithEbadfAndAfterExitWithEsrch() throws Exception {
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("sleep", "30"))) {
            assertThatThrownBy(() -> child.duplicateDescriptor(99)).isInstanceOfSatisfying(ErrnoException.class, e -> {
                assertThat(e.syscall()).isEqualTo("pidfd_getfd");
                assertThat(e.errnoName()).isEqualTo("EBADF");
                assertThat(e.getMessage()).contains("targetfd=99");
            });
            assertThatThrownBy(() -> child.duplicateDescriptor(-1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("targetFd must be >= 0, was -1");
            child.kill();
            await(child.onExit(), 10);
            assertThatThrownBy(() -> child.duplicateDescriptor(0)).isInstanceOfSatisfying(ErrnoException.class,
                    e -> assertThat(e.errnoName()).isEqualTo("ESRCH"));
            child.close();
            assertThatThrownBy(() -> child.duplicateDescriptor(0)).isInstanceOf(IllegalStateException.class);
        }
    }

    /**
     * EPERM needs a caller without ptrace access to the child. As root (CAP_SYS_PTRACE) that is provoked on one
     * thread of ours whose uids are switched to nobody's (credentials are per thread; setresuid as a raw syscall
     * changes that thread alone, and an effective uid other than 0 drops its capabilities). Without root the
     * thread cannot switch, and our own same-uid, dumpable child is always ours to trace, so the case is skipped.
     */
    @Test
    void takingADescriptorWithoutPtraceAccessFailsWithEperm() throws Exception {
        assumeTrue(ProcessHandle.current().info().user().orElse("").equals("root") || "0".equals(uid()),
                "needs root to make a thread of ours without ptrace access to our own child");
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("sleep", "30"), SpawnOption.KILL_ON_CLOSE)) {
            CompletableFuture<Throwable> thrown = new CompletableFuture<>();
            Thread asNobody = Thread.ofPlatform().start(() -> {
                RawLinux.setThreadUids(RawLinux.NOBODY, RawLinux.NOBODY, 0);
                try (OwnedDescriptor unexpected = child.duplicateDescriptor(0)) {
                    thrown.complete(null);
                } catch (Throwable t) {
                    thrown.complete(t);
                } finally {
                    RawLinux.setThreadUids(0, 0, 0);
                }
            });
            Throwable t = await(thrown, 10);
            asNobody.join();
            assertThat(t).isInstanceOfSatisfying(ErrnoException.class, e -> {
                assertThat(e.syscall()).isEqualTo("pidfd_getfd");
                assertThat(e.errnoName()).isEqualTo("EPERM");
            });
        }
    }

    private static String uid() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) return line.split("\\s+")[2]; // effective
        }
        return null;
    }

    private static int ptraceScope() throws Exception {
        Path scope = Path.of("/proc/sys/kernel/yama/ptrace_scope");
        return Files.exists(scope) ? Integer.parseInt(Files.readAllLines(scope).getFirst().trim()) : 0;
    }
}
