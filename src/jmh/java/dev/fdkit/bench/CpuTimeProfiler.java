package dev.fdkit.bench;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * JMH profiler {@code -prof dev.fdkit.bench.CpuTimeProfiler}: the CPU time (user + system) the benchmark's
 * worker threads and fdkit's own threads ({@code fdkit-poller}, {@code fdkit-reaper}...) spent per operation,
 * as the secondary metric {@code cpu.time.norm} in ns/op: work moved from the measured thread to the poller
 * still counts, so moving it never looks like a gain. (A poller thread that ended during the iteration, after a
 * hand-off, is not counted.)
 * <p>
 * Wall-clock time per op also counts the time other processes held the CPU, so on a shared machine it
 * scatters; thread CPU time does not (it still includes what the benchmark pays for caches others cooled).
 * The C baselines report the same quantity (CLOCK_THREAD_CPUTIME_ID per op), so the two compare like with like.
 * Normalised by all operations of the iteration, measured or not, as JMH's GC profiler does.
 */
public final class CpuTimeProfiler implements InternalProfiler {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private final Map<Long, Long> before = new HashMap<>();

    @Override
    public String getDescription() {
        return "CPU time of the JMH worker threads and fdkit's threads per operation";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
        before.clear();
        before.putAll(workerCpuTimes());
    }

    @Override
    public Collection<? extends Result> afterIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams,
                                                       IterationResult result) {
        long cpu = 0;
        for (Map.Entry<Long, Long> worker : workerCpuTimes().entrySet()) {
            cpu += worker.getValue() - before.getOrDefault(worker.getKey(), 0L); // a worker started meanwhile: all of it
        }
        long ops = result.getMetadata().getAllOps();
        double perOp = ops == 0 ? Double.NaN : (double) cpu / ops;
        return List.of(new ScalarResult("cpu.time.norm", perOp, "ns/op", AggregationPolicy.AVG));
    }

    /** Thread id → CPU ns of every live JMH worker thread (named "...-jmh-worker-N") and fdkit thread ("fdkit-..."). */
    private static Map<Long, Long> workerCpuTimes() {
        Map<Long, Long> times = new HashMap<>();
        for (ThreadInfo info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (info == null || !(info.getThreadName().contains("jmh-worker") || info.getThreadName().startsWith("fdkit-"))) continue;
            long t = THREADS.getThreadCpuTime(info.getThreadId());
            if (t >= 0) times.put(info.getThreadId(), t);
        }
        return times;
    }
}
