package dev.fdkit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Resource exhaustion in child JVMs ({@link ExhaustionScenario}): RLIMIT_NOFILE lowered so that every
 * descriptor fdkit allocates (eventfd, epoll, pipe2, pidfd_open, io_uring_setup) hits EMFILE, first on the
 * very first use of fdkit and then at each step of each operation; RLIMIT_NPROC reached so that spawning
 * hits EAGAIN and no thread can start. Each failure must name the call and the errno, give back every
 * descriptor it took, and fdkit must work again once the limit is raised.
 */
@ExtendWith(LeakGuard.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ExhaustionTest {
    private static ScenarioJvm.Result descriptors;
    private static ScenarioJvm.Result processes;

    /**
     * Per operation, the call that fails with 0, 1, 2... descriptors free, in order: one per descriptor it
     * needs (one more allocation would be a change to review).
     */
    private static final Map<String, List<String>> ALLOCATIONS = Map.of(
            "eventfd", List.of("eventfd"),
            "poller", List.of("epoll_create1", "eventfd"),
            "open", List.of("pidfd_open"),
            "uring", List.of("io_uring_setup"), // polled through its own descriptor: no eventfd
            "spawnPipes", List.of("pipe2", "pipe2", "pipe2", "pipe2", "pipe2", "pipe2", "pidfd_open")); // then killed and reaped

    static final List<FaultJvms.Run> RUNS = List.of(FaultJvms.Run.of(ExhaustionScenario.class, "descriptors"),
            FaultJvms.Run.of(ExhaustionScenario.class, "processes"));

    @BeforeAll
    static void runBothScenarios() throws Exception {
        descriptors = FaultJvms.result(RUNS.get(0));
        processes = FaultJvms.result(RUNS.get(1));
        for (ScenarioJvm.Result r : List.of(descriptors, processes)) {
            assertThat(r.exitCode()).as("child exit code; output:%n%s", r.output()).isZero();
            assertThat(r.value("done")).isEqualTo("true");
        }
    }

    private static void assertEmfileNaming(String key, String syscall) {
        assertThat(descriptors.value(key)).as(key).contains(syscall + "(").contains("EMFILE")
                .doesNotContain("Error").doesNotStartWith("ok: ");
    }

    @Test
    void usedFirstWithNoDescriptorFreeEveryCallFailsWithEmfileAndGivesBackWhatItTook() {
        assertThat(descriptors.number("first.free")).isZero();
        assertEmfileNaming("first.eventfd", "eventfd");
        assertEmfileNaming("first.sharedPoller", "epoll_create1");
        assertEmfileNaming("first.spawnPipes", "pipe2");
        assertEmfileNaming("first.spawn", "pidfd_open"); // spawned, then killed and reaped: it could not be watched
        assertEmfileNaming("first.open", "pidfd_open");
        assertEmfileNaming("first.uring", "epoll_create1"); // the shared poller it needs comes first
        assertThat(descriptors.number("first.freeAfter")).as("descriptors free after all those failures").isZero();
    }

    @Test
    void aFeatureProbeRunAtTheDescriptorLimitDoesNotReportPidfdsOrIoUringUnsupported() {
        for (String feature : List.of("PIDFD_OPEN", "WAITID_P_PIDFD", "PIDFD_SEND_SIGNAL", "IO_URING")) {
            assertThat(descriptors.value("first.feature." + feature)).as(feature).startsWith("true ");
            assertThat(descriptors.value("raised.feature." + feature)).as(feature).startsWith("true ");
        }
        assertThat(descriptors.value("first.feature.PIDFD_OPEN")).contains("EMFILE");
    }

    @Test
    void onceTheLimitIsRaisedEverythingWorksWithPidfds() {
        assertThat(descriptors.value("raised.eventfd")).startsWith("ok: ");
        assertThat(descriptors.value("raised.sharedPoller")).startsWith("ok: ");
        assertThat(descriptors.value("raised.spawn")).isEqualTo("ok: round trip, exited 3, pidfd true");
        assertThat(descriptors.value("raised.open")).isEqualTo("ok: alive true, signal(0) true");
        assertThat(descriptors.value("raised.uring")).startsWith("ok: Completion[cookie=7, obj=0, res=0");
    }

    @Test
    void everyOperationFailsWithEmfileAtEachStepShortOfWhatItNeedsAndLeaksNothing() {
        ALLOCATIONS.forEach((op, calls) -> {
            int needs = calls.size();
            assertThat(descriptors.number("sweep." + op + ".needs")).as("descriptors %s needs", op).isEqualTo(needs);
            for (int k = 0; k <= needs; k++) {
                String outcome = descriptors.value("sweep." + op + "." + k);
                if (k < needs) assertThat(outcome).as("%s with %d free", op, k).contains(calls.get(k) + "(").contains("EMFILE").doesNotContain("Error");
                else assertThat(outcome).as("%s with %d free", op, k).startsWith("ok: ");
                assertThat(descriptors.number("sweep." + op + "." + k + ".freeAfter")).as("%s with %d free: free afterwards", op, k).isEqualTo(k);
            }
        });
        assertThat(descriptors.value("sweep.spawnPipes.6")).as("the pidfd_open after a successful spawn")
                .contains("pidfd_open(").contains("which was killed");
        assertThat(descriptors.value("zombies")).isEqualTo("[]");
    }

    @Test
    void theOnlyDescriptorsLeftAreTheSharedPollersEpollAndEventfd() {
        long baseline = descriptors.number("fds.baseline");
        assertThat(descriptors.number("fds.afterFirstUse") - baseline).isEqualTo(2);
        assertThat(descriptors.number("fds.end")).as("after %d sweeps", ALLOCATIONS.size()).isEqualTo(descriptors.number("fds.afterFirstUse"));
    }

    @Test
    void atTheProcessLimitSpawningFailsWithEagainAndFdkitWorksOnceItIsRaised() {
        // The kernel exempts uid 0 (and CAP_SYS_RESOURCE, CAP_SYS_ADMIN) from RLIMIT_NPROC: the scenario's thread is not root.
        assertThat(processes.value("limited.threadUid")).as("real uid of the limited thread").doesNotStartWith("0\t");
        assertThat(processes.value("limited.threadCapEff")).as("no capability left to bypass RLIMIT_NPROC").isEqualTo("0000000000000000");
        assertThat(processes.value("limited.spawn")).isEqualTo("dev.fdkit.ErrnoException: posix_spawnp(\"true\") failed: EAGAIN (Resource temporarily unavailable)");
        assertThat(processes.value("limited.children")).isEqualTo("[]");
        assertThat(processes.value("raised.spawn")).isEqualTo("ok: round trip, exited 3, pidfd true");
        assertThat(processes.value("zombies")).isEqualTo("[]");
    }

    @Test
    void noThreadForFdkitsCleanerAtFirstUseIsTheJvmsOwnErrorAndNotAPermanentlyBrokenClass() {
        assertThat(processes.value("limited.eventfd")).startsWith("java.lang.OutOfMemoryError: unable to create native thread");
        assertThat(processes.value("raised.eventfd")).isEqualTo("ok: read 3");
    }
}
