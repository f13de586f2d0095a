package dev.fdkit;

import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@link ProcessDescriptor#asProcess()}: a java.lang.Process backed by the descriptor's pidfd and pipes. Waits
 * park in Java on the exit future the shared poller completes (no reaper thread, fine on virtual threads);
 * destroy signals through the pidfd (never a recycled pid).
 * <p>
 * It behaves as the JDK's Process does: {@link #exitValue()} is the exit code, or 128 + signal for a process
 * killed by a signal, and throws IllegalThreadStateException until the exit is known; {@link #isAlive()} is
 * false from exactly then on, so {@code if (!p.isAlive()) p.exitValue()} never throws; destroy() and
 * destroyForcibly() close the streams after signalling, so a thread blocked reading a pipe that a grandchild
 * still holds returns (with an IOException) instead of waiting for the grandchild.
 */
final class ProcessView extends Process {
    private final ProcessDescriptor process;
    private final ProcessHandle handle; // taken while the pid was surely the process's; null if it was gone by then

    ProcessView(ProcessDescriptor process, ProcessHandle handle) {
        this.process = process;
        this.handle = handle;
    }

    @Override
    public OutputStream getOutputStream() {
        return process.stdin();
    }

    @Override
    public InputStream getInputStream() {
        return process.stdout();
    }

    @Override
    public InputStream getErrorStream() {
        return process.stderr();
    }

    @Override
    public int waitFor() throws InterruptedException {
        return exitValueOf(process.waitFor());
    }

    @Override
    public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
        Objects.requireNonNull(unit, "unit");
        // toNanos saturates: Long.MAX_VALUE days is "forever", as fdkit's timeouts beyond 292 years are
        return process.waitFor(Duration.ofNanos(unit.toNanos(timeout))).isPresent();
    }

    @Override
    public int exitValue() {
        ExitStatus status = process.exitIfKnown();
        if (status == null) throw new IllegalThreadStateException("process hasn't exited");
        return exitValueOf(status);
    }

    /** The JDK's convention: the exit code, 128 + signal if killed, -1 if the kernel could not tell (not our child). */
    private static int exitValueOf(ExitStatus status) {
        return status.shellCode();
    }

    @Override
    public boolean isAlive() {
        return process.exitIfKnown() == null;
    }

    @Override
    public CompletableFuture<Process> onExit() {
        return process.onExit().thenApply(status -> this);
    }

    /** SIGTERM through the pidfd, then closes the streams (as the JDK does). */
    @Override
    public void destroy() {
        process.terminate();
        process.closePipes();
    }

    /** SIGKILL through the pidfd, then closes the streams (as the JDK does). */
    @Override
    public Process destroyForcibly() {
        process.kill();
        process.closePipes();
        return this;
    }

    @Override
    public boolean supportsNormalTermination() {
        return true;
    }

    @Override
    public long pid() {
        return process.pid();
    }

    /**
     * The process's ProcessHandle, taken when this view was made (while the pid could not name another
     * process); the defaults of {@link #info()}, {@link #children()} and {@link #descendants()} use it. For a
     * process already exited and reaped then, a handle of an exited process: not alive, no parent, children
     * or info (the pid may name another process by now: nothing is looked up by it).
     */
    @Override
    public ProcessHandle toHandle() {
        return handle != null ? handle : new ExitedHandle(process.pid());
    }

    /** What ProcessHandle says of a process that has exited, without asking the system about a pid that may be reused. */
    private record ExitedHandle(long pid) implements ProcessHandle, ProcessHandle.Info {
        @Override
        public Optional<ProcessHandle> parent() {
            return Optional.empty();
        }

        @Override
        public Stream<ProcessHandle> children() {
            return Stream.empty();
        }

        @Override
        public Stream<ProcessHandle> descendants() {
            return Stream.empty();
        }

        @Override
        public Info info() {
            return this;
        }

        @Override
        public CompletableFuture<ProcessHandle> onExit() {
            return CompletableFuture.completedFuture(this);
        }

        @Override
        public boolean supportsNormalTermination() {
            return true;
        }

        @Override
        public boolean destroy() {
            return false;
        }

        @Override
        public boolean destroyForcibly() {
            return false;
        }

        @Override
        public boolean isAlive() {
            return false;
        }

        @Override
        public int compareTo(ProcessHandle other) {
            return Long.compare(pid, other.pid());
        }

        @Override
        public Optional<String> command() {
            return Optional.empty();
        }

        @Override
        public Optional<String> commandLine() {
            return Optional.empty();
        }

        @Override
        public Optional<String[]> arguments() {
            return Optional.empty();
        }

        @Override
        public Optional<Instant> startInstant() {
            return Optional.empty();
        }

        @Override
        public Optional<Duration> totalCpuDuration() {
            return Optional.empty();
        }

        @Override
        public Optional<String> user() {
            return Optional.empty();
        }
    }

    @Override
    public String toString() { // as the JDK's ProcessImpl
        ExitStatus status = process.exitIfKnown();
        return "Process[pid=" + process.pid() + ", exitValue=" + (status == null ? "\"not exited\"" : exitValueOf(status)) + "]";
    }
}
