package dev.fdkit.bench;

import dev.fdkit.Completion;
import dev.fdkit.ExitStatus;
import dev.fdkit.ProcessDescriptor;
import dev.fdkit.Uring;
import dev.fdkit.internal.Spawner;
import dev.fdkit.internal.Syscalls;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Row "Uring vs epoll: batch of 32 process exits" (µs per exit): {@link #N} sleeping children are started and
 * watched before each invocation (JMH {@code Level.Invocation} setup, not timed); the timed part SIGKILLs all
 * of them through their pidfds and waits until every exit is known and every child reaped.
 * <ul>
 *   <li>{@link #uringWaitid}: each exit is an {@code IORING_OP_WAITID} (reap = true: the kernel reaps) on a
 *       {@link Uring} whose completions the shared poller thread reaps. The children are spawned by fdkit's
 *       internal Spawner and opened with {@code ProcessDescriptor.open(pid)}, so nothing but io_uring waits
 *       for them (a {@code ProcessDescriptor.start} child is also reaped by its own descriptor);</li>
 *   <li>{@link #pollerOnExit}: {@code ProcessDescriptor.spawn} children, each exit noticed by the shared
 *       poller's epoll_wait on the pidfd and reaped with waitid(P_PIDFD) on that thread — fdkit's default.</li>
 * </ul>
 * Both send the same signals and wait for the same exits, so the difference is how the exits are noticed and
 * collected: one CQE per child against one epoll event + one waitid + an EPOLL_CTL_DEL per child.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(2)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Thread)
public class UringProcessExits {
    static final int N = 32;
    private static final String[] SLEEPER = {"/bin/sleep", "600"};

    private Uring uring;
    private final ProcessDescriptor[] processes = new ProcessDescriptor[N];
    @SuppressWarnings("unchecked")
    private final CompletableFuture<?>[] exits = new CompletableFuture[N];

    @Setup(Level.Trial)
    public void open() {
        uring = Uring.open(2 * N);
    }

    @TearDown(Level.Trial)
    public void close() {
        uring.close();
    }

    /** N raw children, each with an IORING_OP_WAITID in flight. */
    @Setup(Level.Invocation)
    public void startForUring(org.openjdk.jmh.infra.BenchmarkParams params) throws IOException, dev.fdkit.internal.SyscallException {
        if (!params.getBenchmark().endsWith("uringWaitid")) return;
        for (int i = 0; i < N; i++) {
            Spawner.Child raw = Spawner.spawn(new Spawner.Request(List.of(SLEEPER), Spawner.INHERITED_ENVIRONMENT, null,
                    new int[] {-1, -1, -1}, false, false), true);
            Syscalls.close(raw.pidfd());
            processes[i] = ProcessDescriptor.open(raw.pid());
            exits[i] = uring.submit(new Uring.Waitid(processes[i], true, i));
        }
    }

    /** N fdkit children, watched by the shared poller from birth. */
    @Setup(Level.Invocation)
    public void startForPoller(org.openjdk.jmh.infra.BenchmarkParams params) throws IOException {
        if (!params.getBenchmark().endsWith("pollerOnExit")) return;
        for (int i = 0; i < N; i++) {
            processes[i] = ProcessDescriptor.spawn(SLEEPER);
            exits[i] = processes[i].onExit();
        }
    }

    @TearDown(Level.Invocation)
    public void closeAll() {
        for (ProcessDescriptor p : processes) if (p != null) p.close();
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public int uringWaitid() {
        for (ProcessDescriptor p : processes) p.kill();
        int reaped = 0;
        for (CompletableFuture<?> exit : exits) {
            Completion c = (Completion) exit.join();
            if (c.res() != 0) throw new IllegalStateException("IORING_OP_WAITID failed: res " + c.res());
            reaped++;
        }
        return reaped;
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public int pollerOnExit() {
        for (ProcessDescriptor p : processes) p.kill();
        int killed = 0;
        for (CompletableFuture<?> exit : exits) {
            if (((ExitStatus) exit.join()).kind() == ExitStatus.Kind.KILLED) killed++;
        }
        if (killed != N) throw new IllegalStateException(killed + " of " + N + " children were killed");
        return killed;
    }
}
