package dev.fdkit;

import dev.fdkit.examples.Supervisor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The supervisor in examples/ against real processes. Each run of a child writes its pid and its start time
 * (date +%s%N) to a file: the test measures the back-off from the children's own clock readings, not from the
 * supervisor's bookkeeping, and only with lower bounds and generous upper ones.
 */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SupervisorExampleTest {
    private static final Duration INITIAL = Duration.ofMillis(25);
    private static final Duration CAP = Duration.ofMillis(800);
    private static final int RESTARTS = 7; // 25, 50, 100, 200, 400, 800, 800 ms: the cap is reached and held

    /** A run of a child, as it logged itself. */
    private record Run(long pid, long startedAtNanos) {}

    private static List<Run> runs(Path log) {
        if (!Files.exists(log)) return List.of();
        try {
            List<Run> runs = new ArrayList<>();
            for (String line : Files.readAllLines(log)) {
                String[] f = line.split(" ");
                if (f.length == 2) runs.add(new Run(Long.parseLong(f[0]), Long.parseLong(f[1])));
            }
            return runs;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A shell command that logs its run to {@code log}, then does {@code then}. */
    private static String logged(Path log, String then) {
        return "echo $$ $(date +%s%N) >> " + log + "; " + then;
    }

    @Test
    void aCrashingChildIsRestartedWithGrowingCappedDelaysOthersAreLeftAloneAndCloseLeavesNothing(@TempDir Path dir) throws Exception {
        int descriptorsBefore = Processes.fdCount();
        Path crashing = dir.resolve("crashing");
        Path healthy = dir.resolve("healthy");
        Path done = dir.resolve("done");
        Supervisor supervisor = Supervisor.start(List.of(logged(crashing, "exit 1"), logged(healthy, "exec sleep 600"), logged(done, "exit 0")),
                INITIAL, CAP);
        List<Run> crashes;
        long healthyPid;
        try {
            assertThat(Processes.awaitCondition(Duration.ofSeconds(30), () -> runs(crashing).size() >= RESTARTS + 1))
                    .as("%d restarts of the crashing child within 30 s: %s", RESTARTS, supervisor.restarts()).isTrue();
            crashes = runs(crashing);
            healthyPid = supervisor.pid(1).orElseThrow();
        } finally {
            supervisor.close();
        }

        // Each restart comes at least its back-off after the previous run started (which was before that run's
        // exit), and not much later; the back-off doubles from INITIAL and stays at CAP.
        List<Long> gaps = new ArrayList<>();
        for (int k = 0; k < RESTARTS; k++) {
            long gap = crashes.get(k + 1).startedAtNanos() - crashes.get(k).startedAtNanos();
            Duration backOff = supervisor.delayAfter(k + 1);
            assertThat(backOff).isEqualTo(Duration.ofMillis(Math.min(25L << k, 800)));
            assertThat(gap).as("restart %d: %d ms after the last start, back-off %s", k + 1, gap / 1_000_000, backOff)
                    .isBetween(backOff.toNanos(), backOff.toNanos() + TimeUnit.SECONDS.toNanos(5));
            gaps.add(gap);
        }
        assertThat(gaps.get(RESTARTS - 1)).as("the capped gap is longer than the first: %s", gaps).isGreaterThan(gaps.get(0));
        assertThat(supervisor.restarts()).allSatisfy(r -> {
            assertThat(r.child()).as("only the crashing child is restarted").isZero();
            assertThat(r.status().code()).isEqualTo(1);
        });

        assertThat(runs(healthy)).as("the healthy child ran once, never restarted").extracting(Run::pid).containsExactly(healthyPid);
        assertThat(runs(done)).as("a child that exits 0 is done").hasSize(1);
        assertThat(supervisor.pid(2)).isEmpty();

        // close() killed and reaped: no child left running or a zombie, no descriptor, the loop thread ended (LeakGuard).
        assertThat(Processes.stat(healthyPid)).as("the healthy child, killed and reaped by close()").isNull();
        List<Long> all = new ArrayList<>(crashes.stream().map(Run::pid).toList());
        all.add(healthyPid);
        all.add(runs(done).getFirst().pid());
        assertThat(Processes.children()).doesNotContainAnyElementsOf(all);
        assertThat(Processes.fdCountSettlingTo(descriptorsBefore)).isEqualTo(descriptorsBefore);
    }
}
