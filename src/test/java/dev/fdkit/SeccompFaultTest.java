package dev.fdkit;

import dev.fdkit.internal.linux.fdkit_h;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Fault injection with real seccomp filters: each profile runs {@link SeccompScenario} in a child JVM whose
 * kernel refuses a set of system calls with EPERM or ENOSYS, as container profiles do (golang/go#69065 is
 * the classic case), installed before fdkit probes anything — not {@code -Dfdkit.disable}. Every public-API
 * check must take its documented fallback, or fail with an exception naming the refused call and the errno:
 * never a hang, a crash, an Error, a zombie or a wrong answer.
 * <p>
 * The normal run injects one errno per profile (the one real profiles use, or the one that hurts);
 * {@code -Dfdkit.faults=full} runs both errnos for every profile.
 */
@ExtendWith(LeakGuard.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SeccompFaultTest {

    /** The checks {@link SeccompScenario} prints. */
    static final List<String> CHECKS = List.of("eventfd", "poller", "sharedPoller", "sharedPollerAgain", "spawnExit", "spawnKill",
            "waitForExit", "killOnClose", "killProcessGroup", "pipes", "childDescriptors", "openNonChild", "openMissingPid", "futexPlatformThread",
            "futexVirtualThread", "futexWaitv", "uring", "sharedUring", "noZombies");
    /** The checks that spawn a process (and so need posix_spawn, waitid and the shared poller). */
    private static final List<String> PROCESS_CHECKS = List.of("spawnExit", "spawnKill", "waitForExit", "killOnClose", "killProcessGroup",
            "pipes", "childDescriptors", "openNonChild");

    /** Sets of refused system calls ({@code name:N}: only when the first argument is N). */
    enum Profile {
        /** A strict container: no pidfds, no io_uring, no futex_waitv, no close_range (glibc's spawn falls back). */
        CONTAINER("EPERM", List.of("pidfd_open", "pidfd_send_signal", "pidfd_getfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
                "futex_waitv", "close_range"), Set.of(Feature.PIDFD_OPEN, Feature.IO_URING, Feature.FUTEX_WAITV)),
        /** pidfd_open alone: waitid(P_PIDFD) as on Linux 5.3, and pidfd_send_signal refused. */
        PIDFD_OPEN_ONLY("ENOSYS", List.of("waitid:" + fdkit_h.P_PIDFD(), "pidfd_send_signal"),
                Set.of(Feature.WAITID_P_PIDFD, Feature.PIDFD_SEND_SIGNAL)),
        /** No waitid at all: nothing can be reaped, which must show as a status naming waitid, not a hang. */
        NO_WAITID("ENOSYS", List.of("waitid"), Set.of(Feature.WAITID_P_PIDFD)),
        /** clone3: glibc falls back to clone on ENOSYS only; EPERM breaks pthread_create and posix_spawn themselves. */
        NO_CLONE3("EPERM", List.of("clone3"), Set.of()),
        /** No eventfd: no poller, so nothing asynchronous works; it must say why, every time. */
        NO_EVENTFD("EPERM", List.of("eventfd2"), Set.of()),
        /** No epoll: likewise, failing before any descriptor is made (only in the full run: NO_EVENTFD covers the behaviour). */
        NO_EPOLL(null, List.of("epoll_create1"), Set.of());

        final String normalErrno; // the errno of the normal (short) run; null: only in the full run
        final List<String> rules;
        final Set<Feature> unavailable;

        Profile(String normalErrno, List<String> rules, Set<Feature> unavailable) {
            this.normalErrno = normalErrno;
            this.rules = rules;
            this.unavailable = unavailable;
        }
    }

    private static final List<String> ERRNOS = List.of("EPERM", "ENOSYS");
    private static final Map<Profile, Map<String, ScenarioJvm.Result>> RESULTS = new EnumMap<>(Profile.class);

    /** {@code SeccompScenario <errno> <rules...>} for each profile: its normal errno, or both with -Dfdkit.faults=full. */
    static List<FaultJvms.Run> runs() {
        List<FaultJvms.Run> runs = new ArrayList<>();
        for (Profile profile : Profile.values()) {
            for (String errno : errnos(profile)) runs.add(run(profile, errno));
        }
        return runs;
    }

    private static List<String> errnos(Profile profile) {
        if ("full".equals(System.getProperty("fdkit.faults"))) return ERRNOS;
        return profile.normalErrno == null ? List.of() : List.of(profile.normalErrno);
    }

    private static FaultJvms.Run run(Profile profile, String errno) {
        List<String> args = new ArrayList<>(List.of(errno));
        args.addAll(profile.rules);
        return new FaultJvms.Run(SeccompScenario.class, List.copyOf(args));
    }

    @BeforeAll
    static void runEveryProfileInAChildJvm() throws Exception {
        for (Profile profile : Profile.values()) {
            Map<String, ScenarioJvm.Result> byErrno = new LinkedHashMap<>();
            for (String errno : errnos(profile)) byErrno.put(errno, FaultJvms.result(run(profile, errno)));
            RESULTS.put(profile, byErrno);
        }
    }

    @AfterAll
    static void printTheCounts() {
        int runs = RESULTS.values().stream().mapToInt(Map::size).sum();
        long faults = RESULTS.entrySet().stream().mapToLong(e -> (long) e.getKey().rules.size() * e.getValue().size()).sum();
        System.out.println("SeccompFaultTest: " + runs + " child JVMs, " + faults + " refused syscalls injected, " + runs * CHECKS.size() + " checks");
    }

    /** The runs of {@code profile}; a profile that only the full run injects skips its test in the normal run. */
    private static Map<String, ScenarioJvm.Result> runs(Profile profile) {
        Map<String, ScenarioJvm.Result> runs = RESULTS.get(profile);
        assumeTrue(!runs.isEmpty(), () -> profile + " runs only with -Dfdkit.faults=full");
        return runs;
    }

    private static void assertCompleted(String errno, ScenarioJvm.Result r) {
        assertThat(r.exitCode()).as("%s child exit code; output:%n%s", errno, r.output()).isZero();
        assertThat(r.value("done")).isEqualTo("true");
        assertThat(r.value("seccomp.mode")).as("filter mode").isEqualTo("2");
    }

    static void assertOk(String errno, ScenarioJvm.Result r, List<String> checks) {
        for (String check : checks) {
            assertThat(r.value("check." + check)).as("%s: check %s; output:%n%s", errno, check, r.output()).startsWith("ok: ");
        }
    }

    /** A clear failure: an exception (never an Error, never a timeout) or a status that names the refused call and the errno. */
    private static void assertFailsNaming(String errno, ScenarioJvm.Result r, List<String> checks, String syscall) {
        for (String check : checks) {
            assertThat(r.value("check." + check)).as("%s: check %s; output:%n%s", errno, check, r.output())
                    .doesNotStartWith("ok: ").contains(syscall).contains(errno)
                    .doesNotContain("Error").doesNotContain("TimeoutException");
        }
    }

    private static List<String> allBut(List<String> checks) {
        return CHECKS.stream().filter(c -> !checks.contains(c)).toList();
    }

    @Test
    void eachRefusedFeatureIsReportedUnavailableWithTheErrnoAndSeccompAsCause() {
        for (Profile profile : Profile.values()) {
            RESULTS.get(profile).forEach((errno, r) -> {
                assertCompleted(errno, r);
                for (Feature f : profile.unavailable) {
                    assertThat(r.value("feature." + f.name())).as("%s %s: cause of %s", profile, errno, f).contains(errno).contains("seccomp");
                }
            });
        }
    }

    @Test
    void inAStrictContainerEveryCheckTakesItsFallback() {
        runs(Profile.CONTAINER).forEach((errno, r) -> {
            assertCompleted(errno, r);
            assertOk(errno, r, CHECKS);
            assertThat(r.number("reaperThreads")).as("children watched by the fallback reaper").isEqualTo(1);
        });
    }

    @Test
    void withPidfdOpenAloneChildrenAreReapedAndSignalledWithoutWaitidPidfdOrPidfdSendSignal() {
        runs(Profile.PIDFD_OPEN_ONLY).forEach((errno, r) -> {
            assertCompleted(errno, r);
            assertThat(r.values()).as("pidfd_open itself is available").doesNotContainKey("feature.PIDFD_OPEN");
            assertOk(errno, r, CHECKS);
            assertThat(r.number("reaperThreads")).as("exits still come from pidfds on the poller").isZero();
        });
    }

    @Test
    void withoutWaitidEveryExitIsReportedAsUnknownNamingWaitidAndNothingHangs() {
        runs(Profile.NO_WAITID).forEach((errno, r) -> {
            assertCompleted(errno, r);
            // The checks that judge an exit status; the others only need the child to have exited.
            List<String> judged = List.of("spawnExit", "spawnKill", "waitForExit", "killOnClose", "killProcessGroup", "pipes");
            assertFailsNaming(errno, r, judged, "waitid");
            assertThat(r.value("check.noZombies")).as("nothing can reap").startsWith("zombies ");
            List<String> rest = new ArrayList<>(allBut(judged));
            rest.remove("noZombies");
            assertOk(errno, r, rest);
        });
    }

    @Test
    void withoutClone3GlibcFallsBackOnEnosysAndSpawnFailsNamingPosixSpawnOnEperm() {
        runs(Profile.NO_CLONE3).forEach((errno, r) -> {
            assertCompleted(errno, r);
            if (errno.equals("ENOSYS")) {
                assertOk(errno, r, CHECKS);
            } else {
                // glibc retries clone3 with clone only on ENOSYS: posix_spawn, and the JVM's own pthread_create, fail.
                List<String> spawning = new ArrayList<>(PROCESS_CHECKS);
                spawning.remove("openNonChild"); // starts its process with the JDK, which fails alike
                assertFailsNaming(errno, r, spawning, "posix_spawnp");
                assertThat(r.value("check.openNonChild")).contains("Operation not permitted");
                List<String> working = List.of("openMissingPid", "futexWaitv", "noZombies");
                assertOk(errno, r, working);
                // No thread can start (fdkit's Cleaner and poller, a waiter): the JVM's own error, every time.
                List<String> needThreads = new ArrayList<>(allBut(working));
                needThreads.removeAll(PROCESS_CHECKS);
                for (String check : needThreads) {
                    assertThat(r.value("check." + check)).as("%s: check %s; output:%n%s", errno, check, r.output())
                            .contains("OutOfMemoryError: unable to create native thread").doesNotContain("NoClassDefFoundError");
                }
            }
        });
    }

    @Test
    void withoutEventfdEverythingAsynchronousFailsNamingEventfdEveryTimeAndLeavesNoZombie() {
        assertOnlyPollerFreeChecksWork(Profile.NO_EVENTFD, "eventfd(");
    }

    @Test
    void withoutEpollEverythingAsynchronousFailsNamingEpollCreateEveryTimeAndLeavesNoZombie() {
        assertOnlyPollerFreeChecksWork(Profile.NO_EPOLL, "epoll_create1(");
    }

    private static void assertOnlyPollerFreeChecksWork(Profile profile, String syscall) {
        List<String> working = List.of("openMissingPid", "futexPlatformThread", "futexVirtualThread", "futexWaitv", "noZombies");
        runs(profile).forEach((errno, r) -> {
            assertCompleted(errno, r);
            List<String> failing = new ArrayList<>(allBut(working));
            if (profile == Profile.NO_EPOLL) failing.remove("eventfd"); // an eventfd needs no epoll
            assertFailsNaming(errno, r, failing, syscall);
            assertOk(errno, r, profile == Profile.NO_EPOLL ? List.of("eventfd") : List.of());
            assertOk(errno, r, working);
        });
    }
}
