package dev.fdkit.bench;

import com.zaxxer.nuprocess.NuAbstractProcessHandler;
import com.zaxxer.nuprocess.NuProcessBuilder;
import dev.fdkit.ExitStatus;
import dev.fdkit.ProcessDescriptor;
import dev.fdkit.internal.Spawner;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.linux.fdkit_h;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Row "spawn + reap /bin/true": start /bin/true (absolute path, stdio inherited, our environment) and wait
 * for it, one after the other. The C baseline is src/jmh/c/spawn_reap.c (posix_spawn + waitpid in a loop).
 * <ul>
 *   <li>{@link #fdkit}: {@code ProcessDescriptor.spawn("/bin/true")}, {@code waitFor()}, {@code close()}: the
 *       public API, exit noticed by the shared poller thread through the pidfd;</li>
 *   <li>{@link #jdk}: {@code new ProcessBuilder("/bin/true").inheritIO().start().waitFor()} (the JDK's
 *       default launch mechanism on Linux: posix_spawn of jspawnhelper, which then execs the program;
 *       a reaper thread blocked in waitpid per child);</li>
 *   <li>{@link #nuProcess}: NuProcess 3.0.0, {@code NuProcessBuilder} with an empty handler, {@code waitFor}.
 *       It always pipes stdin/stdout/stderr (it cannot inherit) and finds exits by polling, so it takes
 *       about 100× longer: fewer, longer iterations keep the full run short;</li>
 *   <li>{@link #spawnerWaitid} (diagnostic): fdkit's internal {@code Spawner.spawn} (posix_spawnp with the
 *       same attributes, then pidfd_open), then a blocking waitid(P_PIDFD) on the calling thread and close:
 *       fdkit's syscalls without the ProcessBuilder translation, the poller hand-off or the objects.
 *       fdkit minus this is the cost of the public API's Java side and the wake-up through the poller.</li>
 * </ul>
 * The annotations are the full run's settings; {@code bin/bench --quick} overrides them for all methods.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Thread)
@Fork(2) // forks inherit bin/bench's --enable-native-access=ALL-UNNAMED
@Warmup(iterations = 4, time = 1) // fdkit's path needs about 2 s of JIT before it is steady (3.3, 1.4, then 0.9 ms/op)
@Measurement(iterations = 5, time = 1)
public class SpawnReap {
    static final String TRUE = "/bin/true";

    // The JVM's environment as ProcessDescriptor.spawn passes it: the envp built once, not re-encoded per spawn.
    private final Spawner.Request request = new Spawner.Request(List.of(TRUE), Spawner.INHERITED_ENVIRONMENT, null, new int[] {-1, -1, -1}, false, false);

    @Benchmark
    public int fdkit() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.spawn(TRUE)) {
            return check(p.waitFor());
        }
    }

    @Benchmark
    public int jdk() throws Exception {
        return new ProcessBuilder(TRUE).inheritIO().start().waitFor();
    }

    @Benchmark
    @Fork(1)
    @Warmup(iterations = 1, time = 2)
    @Measurement(iterations = 3, time = 2)
    public int nuProcess() throws Exception {
        NuProcessBuilder builder = new NuProcessBuilder(List.of(TRUE));
        builder.setProcessListener(new NuAbstractProcessHandler() {});
        int code = builder.start().waitFor(0, TimeUnit.SECONDS);
        if (code != 0) throw new IllegalStateException("/bin/true exited with " + code);
        return code;
    }

    @Benchmark
    public int spawnerWaitid() throws Exception {
        Spawner.Child child = Spawner.spawn(request, true);
        try {
            Syscalls.WaitResult w = Syscalls.waitid(fdkit_h.P_PIDFD(), child.pidfd(), fdkit_h.WEXITED(), false);
            if (w == null || w.code() != fdkit_h.CLD_EXITED() || w.status() != 0) throw new IllegalStateException("/bin/true failed: " + w);
            return w.status();
        } finally {
            Syscalls.close(child.pidfd());
        }
    }

    private static int check(ExitStatus status) {
        if (!status.success()) throw new IllegalStateException("/bin/true failed: " + status);
        return status.code();
    }
}
