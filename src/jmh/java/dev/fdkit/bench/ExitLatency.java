package dev.fdkit.bench;

import com.zaxxer.nuprocess.NuAbstractProcessHandler;
import com.zaxxer.nuprocess.NuProcess;
import com.zaxxer.nuprocess.NuProcessBuilder;
import dev.fdkit.ExitStatus;
import dev.fdkit.ProcessDescriptor;
import dev.fdkit.internal.Spawner;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.linux.fdkit_h;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Rows "exit-notification latency": the time from the event that makes a child exit to the moment the
 * exit callback runs, or waitFor() returns. Not a JMH benchmark: the end of each measurement is stamped by a
 * callback on another thread (fdkit's poller, the JDK's pool), which JMH cannot time; so this program measures
 * exactly as its C baseline src/jmh/c/exit_latency.c does and prints the same JSON lines (bin/bench collects
 * them into bench/java-result.json).
 * <p>
 * One exit: spawn /bin/cat with stdin and stdout on pipes and attach the exit callback; write one byte to
 * its stdin and read it back from its stdout (cat is now running and back in read(0)); then
 * {@code t0 = System.nanoTime()}, close our end of its stdin — cat reads EOF and exits — and the callback
 * stores {@code System.nanoTime()} as t1. The latency is t1 - t0, nothing subtracted: cat's wake-up, its exit
 * path in the kernel, the pidfd's readiness waking the waiter, the reap and the callback. Spawning, the echo
 * and cleanup are outside it. Each run does as many exits as fit in about 1 s (--quick: 0.5 s; NuProcess: at
 * least 3); its score is the mean latency in µs. 7 runs (--quick: 3) after a warm-up (3 s, --quick 2 s: the
 * JIT); the score is the best run, the error the standard deviation over the runs. A second line per variant,
 * "NAME.median", gives each run's median instead of its mean, as the C program does.
 * <ul>
 *   <li>{@code exit_latency.fdkit}: {@code ProcessDescriptor.start(pb)}, {@code onExit().thenRun(..)}: the
 *       callback runs on the fdkit-poller thread, after its epoll_wait returned and it reaped the child
 *       with waitid(P_PIDFD) — the same calls the C loop makes;</li>
 *   <li>{@code exit_latency.fdkit_direct_echo} (diagnostic): the same, but the echo before t0 is read directly
 *       (poll + read), as the C program reads it, not through {@code p.stdout()} and the poller;</li>
 *   <li>{@code exit_latency.fdkit_waitfor}: the same child and set-up, no {@code onExit()}: the measuring
 *       (platform) thread calls {@code p.waitFor()} and stamps t1 when it returns. Nobody else awaits the exit,
 *       so waitFor polls the pidfd itself and reaps on the calling thread (ExitWatch), as the C loop does;</li>
 *   <li>{@code exit_latency.jdk}: {@code java.lang.ProcessBuilder.start()}, {@code onExit().thenRun(..)}: the
 *       JDK's reaper thread returns from waitpid, then the callback runs on the common ForkJoinPool
 *       ({@code Process.onExit()} completes asynchronously);</li>
 *   <li>{@code exit_latency.jdk_waitfor}: {@code java.lang.Process.waitFor()} on the measuring thread, t1 when it
 *       returns: the JDK's reaper thread returns from waitpid and wakes the waiter;</li>
 *   <li>{@code exit_latency.nuprocess}: NuProcess 3.0.0, {@code NuProcessHandler.onExit} (it finds exits by
 *       polling);</li>
 *   <li>{@code exit_latency.raw_ffm} (diagnostic): the C loop's exact calls from Java through fdkit's internal
 *       Syscalls and Spawner, on the measuring thread: pipe2, posix_spawn + pidfd_open, EPOLL_CTL_ADD, the echo,
 *       then t0, close, epoll_wait, waitid, t1. No poller thread, no hand-off, no objects: the difference from
 *       C is what a JVM parent (and its spawn attributes) costs; fdkit minus this is the poller hand-off
 *       and fdkit's Java code.</li>
 * </ul>
 * Usage: {@code ExitLatency [--quick]}.
 */
public final class ExitLatency {
    private static final String CAT = "/bin/cat";

    private ExitLatency() {}

    /** One exit, measured: returns t1 - t0 in ns. */
    @FunctionalInterface
    interface Exit {
        long latencyNanos() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        boolean quick = args.length > 0 && args[0].equals("--quick");
        int runs = quick ? 3 : 7;
        long runNanos = quick ? 500_000_000L : 1_000_000_000L;
        long warmupNanos = quick ? 2_000_000_000L : 3_000_000_000L;
        measure("exit_latency.fdkit", ExitLatency::fdkit, runs, runNanos, warmupNanos, 1);
        measure("exit_latency.fdkit_direct_echo", ExitLatency::fdkitDirectEcho, runs, runNanos, warmupNanos, 1);
        measure("exit_latency.fdkit_waitfor", ExitLatency::fdkitWaitFor, runs, runNanos, warmupNanos, 1);
        measure("exit_latency.fdkit_waitfor_direct_echo", ExitLatency::fdkitWaitForDirectEcho, runs, runNanos, warmupNanos, 1);
        measure("exit_latency.jdk", ExitLatency::jdk, runs, runNanos, warmupNanos, 1);
        measure("exit_latency.jdk_waitfor", ExitLatency::jdkWaitFor, runs, runNanos, warmupNanos, 1);
        measure("exit_latency.raw_ffm", ExitLatency::rawFfm, runs, runNanos, warmupNanos, 1);
        measure("exit_latency.nuprocess", ExitLatency::nuProcess, runs, runNanos, runNanos / 2, 3);
    }

    /** The time the callback ran, handed to the measuring thread. */
    private static final class Stamp {
        private final CountDownLatch done = new CountDownLatch(1);
        private volatile long at;

        void mark() {
            at = System.nanoTime();
            done.countDown();
        }

        long await() throws InterruptedException {
            if (!done.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("no exit callback within 30 s");
            return at;
        }
    }

    static long fdkit() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(CAT).redirectError(ProcessBuilder.Redirect.INHERIT); // stdin, stdout: PIPE
        try (ProcessDescriptor p = ProcessDescriptor.start(pb)) {
            Stamp stamp = new Stamp();
            p.onExit().thenRun(stamp::mark);
            echo(p.stdin(), p.stdout());
            long t0 = System.nanoTime();
            p.stdin().close();
            return stamp.await() - t0;
        }
    }

    /**
     * As {@link #fdkit} but the echo is read as the C program reads it, directly (poll + read on our end of
     * cat's stdout) instead of through {@code p.stdout()}, which waits through the poller: the timed part is
     * the same, only the poller thread's activity just before t0 differs.
     */
    static long fdkitDirectEcho() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(CAT).redirectError(ProcessBuilder.Redirect.INHERIT); // stdin, stdout: PIPE
        try (ProcessDescriptor p = ProcessDescriptor.start(pb)) {
            Stamp stamp = new Stamp();
            p.onExit().thenRun(stamp::mark);
            directEcho(p);
            long t0 = System.nanoTime();
            p.stdin().close();
            return stamp.await() - t0;
        }
    }

    /** The echo as the C program does it: write one byte, poll + read our end of cat's stdout on this thread. */
    private static void directEcho(ProcessDescriptor p) throws Exception {
        p.stdin().write('x');
        p.stdin().flush();
        dev.fdkit.internal.Fd out = descriptorOf(p.stdout());
        int number = out.acquire();
        try {
            Syscalls.poll(number, fdkit_h.POLLIN(), -1);
            if (Syscalls.read(number, BYTE, 1) != 1) throw new IOException("cat did not echo");
        } finally {
            out.release();
        }
    }

    /**
     * As {@link #fdkitWaitFor} with the echo read as in {@link #fdkitDirectEcho}: the same timed part, but the
     * measuring thread was last woken by the kernel, not by the poller thread's hand-off of the echo.
     */
    static long fdkitWaitForDirectEcho() throws Exception {
        return waitForLatency(true);
    }

    /** As {@link #fdkit}, but with no onExit(): this platform thread waits in {@code waitFor()}, and stamps t1. */
    static long fdkitWaitFor() throws Exception {
        return waitForLatency(false);
    }

    private static long waitForLatency(boolean directEcho) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(CAT).redirectError(ProcessBuilder.Redirect.INHERIT); // stdin, stdout: PIPE
        try (ProcessDescriptor p = ProcessDescriptor.start(pb)) {
            if (directEcho) directEcho(p);
            else echo(p.stdin(), p.stdout());
            long t0 = System.nanoTime();
            p.stdin().close();
            ExitStatus status = p.waitFor();
            long t1 = System.nanoTime();
            if (!status.success()) throw new IllegalStateException("cat failed: " + status);
            return t1 - t0;
        }
    }

    /** The fdkit stream's descriptor (its class is package-private: the benchmark runs on the class path). */
    private static dev.fdkit.internal.Fd descriptorOf(InputStream stream) throws ReflectiveOperationException {
        java.lang.reflect.Method descriptor = stream.getClass().getDeclaredMethod("descriptor");
        descriptor.setAccessible(true);
        return (dev.fdkit.internal.Fd) descriptor.invoke(stream);
    }

    static long jdk() throws Exception {
        Process p = new ProcessBuilder(CAT).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            Stamp stamp = new Stamp();
            p.onExit().thenRun(stamp::mark);
            echo(p.getOutputStream(), p.getInputStream());
            long t0 = System.nanoTime();
            p.getOutputStream().close();
            return stamp.await() - t0;
        } finally {
            p.getInputStream().close();
            p.getErrorStream().close();
        }
    }

    /** As {@link #jdk}, but with no onExit(): this thread waits in {@code Process.waitFor()}, and stamps t1. */
    static long jdkWaitFor() throws Exception {
        Process p = new ProcessBuilder(CAT).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            echo(p.getOutputStream(), p.getInputStream());
            long t0 = System.nanoTime();
            p.getOutputStream().close();
            int code = p.waitFor();
            long t1 = System.nanoTime();
            if (code != 0) throw new IllegalStateException("cat failed: exit code " + code);
            return t1 - t0;
        } finally {
            p.getInputStream().close();
            p.getErrorStream().close();
        }
    }

    static long nuProcess() throws Exception {
        Stamp stamp = new Stamp();
        CountDownLatch echoed = new CountDownLatch(1);
        NuProcessBuilder builder = new NuProcessBuilder(List.of(CAT));
        builder.setProcessListener(new NuAbstractProcessHandler() {
            @Override
            public void onStdout(ByteBuffer buffer, boolean closed) {
                if (buffer.hasRemaining()) {
                    buffer.position(buffer.limit());
                    echoed.countDown();
                }
            }

            @Override
            public void onExit(int exitCode) {
                stamp.mark();
            }
        });
        NuProcess p = builder.start();
        if (p == null) throw new IOException("NuProcess could not start " + CAT);
        p.writeStdin(ByteBuffer.wrap(new byte[] {'x'}));
        if (!echoed.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("cat did not echo within 30 s");
        long t0 = System.nanoTime();
        p.closeStdin(true);
        return stamp.await() - t0;
    }

    private static final List<String> ENVIRONMENT = System.getenv().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
    private static final Arena ARENA = Arena.ofAuto();
    private static final MemorySegment BYTE = ARENA.allocate(1);
    private static final MemorySegment EVENTS = Syscalls.allocateEpollEvents(1);
    private static int rawEpoll = -1;

    static long rawFfm() throws Exception {
        if (rawEpoll < 0) rawEpoll = Syscalls.epollCreate1(fdkit_h.EPOLL_CLOEXEC());
        long in = Syscalls.pipe2(fdkit_h.O_CLOEXEC()), out = Syscalls.pipe2(fdkit_h.O_CLOEXEC());
        int inRead = (int) in, inWrite = (int) (in >>> 32), outRead = (int) out, outWrite = (int) (out >>> 32);
        Spawner.Child child = Spawner.spawn(new Spawner.Request(List.of(CAT), ENVIRONMENT, null, new int[] {inRead, outWrite, -1}, false, false), true);
        Syscalls.close(inRead);
        Syscalls.close(outWrite);
        int pidfd = child.pidfd();
        Syscalls.epollCtl(rawEpoll, fdkit_h.EPOLL_CTL_ADD(), pidfd, fdkit_h.EPOLLIN() | fdkit_h.EPOLLONESHOT(), pidfd);
        BYTE.set(ValueLayout.JAVA_BYTE, 0, (byte) 'x');
        if (Syscalls.write(inWrite, BYTE, 1) != 1 || Syscalls.read(outRead, BYTE, 1) != 1) throw new IOException("cat did not echo");

        long t0 = System.nanoTime();
        Syscalls.close(inWrite);
        while (Syscalls.epollWait(rawEpoll, EVENTS, 1, -1) != 1) { } // 0 only after EINTR
        Syscalls.WaitResult w = Syscalls.waitid(fdkit_h.P_PIDFD(), pidfd, fdkit_h.WEXITED(), false);
        long t1 = System.nanoTime();

        if (w == null || w.code() != fdkit_h.CLD_EXITED() || w.status() != 0) throw new IllegalStateException("cat failed: " + w);
        Syscalls.epollCtl(rawEpoll, fdkit_h.EPOLL_CTL_DEL(), pidfd, 0, 0);
        Syscalls.close(pidfd);
        Syscalls.close(outRead);
        return t1 - t0;
    }

    private static void echo(OutputStream in, InputStream out) throws IOException {
        in.write('x');
        in.flush();
        if (out.read() != 'x') throw new IOException("cat did not echo");
    }

    private static void measure(String name, Exit exit, int runs, long runNanos, long warmupNanos, int minExits) throws Exception {
        run(exit, warmupNanos, minExits); // the JIT (the fdkit path keeps C2 busy for about 2 s), class loading, thread pools
        double[] means = new double[runs];
        double[] medians = new double[runs];
        long total = 0;
        for (int r = 0; r < runs; r++) {
            long[] latencies = run(exit, runNanos, minExits);
            means[r] = java.util.Arrays.stream(latencies).average().orElseThrow() / 1e3;
            java.util.Arrays.sort(latencies);
            medians[r] = latencies[latencies.length / 2] / 1e3;
            total += latencies.length;
        }
        String settings = String.format(Locale.ROOT, "best of %d runs of %.1f s (%d exits in all) after %.1f s warm-up", runs, runNanos / 1e9, total, warmupNanos / 1e9);
        print(name, means, settings + "; per run: the mean");
        print(name + ".median", medians, settings + "; per run: the median");
    }

    private static void print(String name, double[] scores, String settings) {
        double best = Double.MAX_VALUE, sum = 0, sq = 0;
        for (double s : scores) {
            best = Math.min(best, s);
            sum += s;
        }
        double mean = sum / scores.length;
        for (double s : scores) sq += (s - mean) * (s - mean);
        double stdev = scores.length > 1 ? Math.sqrt(sq / (scores.length - 1)) : 0;
        String runList = java.util.Arrays.stream(scores).mapToObj(s -> String.format(Locale.ROOT, "%.3f", s)).collect(Collectors.joining(","));
        System.out.printf(Locale.ROOT, "{\"name\":\"%s\",\"unit\":\"us/op\",\"score\":%.3f,\"error\":%.3f,\"mean\":%.3f,"
                + "\"settings\":\"%s, mean %.3f\",\"runs\":[%s]}%n", name, best, stdev, mean, settings, mean, runList);
        System.out.flush();
    }

    /** The latency in ns of each exit over about {@code nanos} of wall time and at least {@code minExits} exits. */
    private static long[] run(Exit exit, long nanos, int minExits) throws Exception {
        List<Long> latencies = new ArrayList<>();
        long start = System.nanoTime();
        do {
            latencies.add(exit.latencyNanos());
        } while (System.nanoTime() - start < nanos || latencies.size() < minExits);
        return latencies.stream().mapToLong(Long::longValue).toArray();
    }
}
