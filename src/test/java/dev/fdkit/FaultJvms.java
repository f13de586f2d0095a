package dev.fdkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Every child JVM of the fault-injection tests ({@link SeccompFaultTest}, {@link ExhaustionTest},
 * {@link InheritanceTest}), started together the first time one is asked for, and awaited before that
 * returns: JVM start-up dominates and the scenarios mostly wait for their own children, so running them side
 * by side costs little more than the slowest one. No launcher thread outlives the first caller's class.
 */
final class FaultJvms {
    private FaultJvms() {}

    /** One run: a scenario's main class and its arguments. */
    record Run(Class<?> main, List<String> args) {
        static Run of(Class<?> main, String... args) {
            return new Run(main, List.of(args));
        }
    }

    private static final List<String> JVM_OPTIONS = List.of("-Xshare:auto", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");
    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static Map<Run, ScenarioJvm.Result> results; // guarded by FaultJvms.class

    /** The result of {@code run}, one of {@link #all()}. */
    static synchronized ScenarioJvm.Result result(Run run) throws Exception {
        if (results == null) results = runAll();
        ScenarioJvm.Result r = results.get(run);
        if (r == null) throw new IllegalArgumentException(run + " is not one of FaultJvms.all()");
        return r;
    }

    static List<Run> all() {
        List<Run> runs = new ArrayList<>(SeccompFaultTest.runs());
        runs.addAll(ExhaustionTest.RUNS);
        runs.add(InheritanceTest.RUN);
        runs.add(Jdk22LinkingTest.RUN);
        return runs;
    }

    private static Map<Run, ScenarioJvm.Result> runAll() throws Exception {
        List<Run> runs = all();
        ExecutorService launcher = Executors.newFixedThreadPool(Math.min(runs.size(), 8));
        try {
            Map<Run, Future<ScenarioJvm.Result>> started = new LinkedHashMap<>();
            for (Run run : runs) {
                started.put(run, launcher.submit(() -> ScenarioJvm.run(run.main(), TIMEOUT, JVM_OPTIONS, run.args().toArray(String[]::new))));
            }
            Map<Run, ScenarioJvm.Result> done = new LinkedHashMap<>();
            for (var e : started.entrySet()) done.put(e.getKey(), e.getValue().get());
            return done;
        } finally {
            launcher.shutdownNow();
            if (!launcher.awaitTermination(30, TimeUnit.SECONDS)) throw new AssertionError("child JVM launcher threads did not end");
        }
    }
}
