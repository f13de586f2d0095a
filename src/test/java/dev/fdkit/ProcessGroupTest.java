package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.fdkit.Processes.awaitGone;
import static dev.fdkit.Processes.groupMembers;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Signalling the process group a child leads — the whole tree a build tool started, grandchildren included —
 * and KILL_ON_CLOSE with a group. The kernel-version fallback (kill(-pid) under the reap lock, before Linux
 * 6.9) runs in a JVM of its own: {@link ProcessGroupScenario}, started by the last tests here.
 */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProcessGroupTest {

    /** A shell leading its own group, with two background sleepers; returns once all three run. */
    static ProcessDescriptor treeOfThree(SpawnOption... options) throws IOException {
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", "sleep 600 & sleep 600 & echo ready; wait")
                .redirectOutput(ProcessBuilder.Redirect.PIPE).redirectError(ProcessBuilder.Redirect.INHERIT);
        List<SpawnOption> all = new ArrayList<>(List.of(options));
        all.add(SpawnOption.NEW_PROCESS_GROUP);
        ProcessDescriptor p = ProcessDescriptor.start(pb, all.toArray(SpawnOption[]::new));
        String line = new BufferedReader(new InputStreamReader(p.stdout(), StandardCharsets.UTF_8)).readLine();
        assertThat(line).isEqualTo("ready");
        assertThat(groupMembers(p.pid())).as("the shell and its two sleepers lead/are in group %d", p.pid()).hasSize(3);
        return p;
    }

    static void assertGroupGone(long pgid, List<Long> members) throws InterruptedException {
        for (long member : members) assertThat(awaitGone(member)).as("group member %d was killed", member).isTrue();
        assertThat(groupMembers(pgid)).isEmpty();
    }

    @Test
    void killProcessGroupEndsTheChildAndItsGrandchildren() throws Exception {
        try (ProcessDescriptor p = treeOfThree()) {
            List<Long> members = groupMembers(p.pid());
            assertThat(p.killProcessGroup()).isTrue();
            assertThat(p.waitFor().signal()).isEqualTo(Processes.SIGKILL);
            assertGroupGone(p.pid(), members);
        }
    }

    @Test
    void signalProcessGroupReachesTheGroupAfterItsLeaderHasExitedAndBeenReaped() throws Exception {
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", "sleep 600 >/dev/null & echo $!").redirectOutput(ProcessBuilder.Redirect.PIPE);
        try (ProcessDescriptor p = ProcessDescriptor.start(pb, SpawnOption.NEW_PROCESS_GROUP)) {
            long orphan = Long.parseLong(new String(p.stdout().readAllBytes(), StandardCharsets.UTF_8).strip());
            assertThat(p.waitFor().code()).isZero(); // the leader is reaped: its pid may be recycled from now on
            assertThat(groupMembers(p.pid())).containsExactly(orphan);
            if (Linux.has(Feature.PIDFD_SIGNAL_PROCESS_GROUP)) {
                // through the pidfd: the group it led, never a later one with the same number
                assertThat(p.signalProcessGroup(Processes.SIGTERM)).isTrue();
                assertGroupGone(p.pid(), List.of(orphan)); // (a zombie until its new parent reaps it: signal 0 still finds it)
            } else {
                assertThat(p.signalProcessGroup(Processes.SIGTERM)).as("reaped leader, no pidfd group signal: refused").isFalse();
                ProcessHandle.of(orphan).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    @Test
    void aChildThatDoesNotLeadAGroupIsRefusedSoTheJvmsOwnGroupIsNeverSignalled() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("/bin/sleep", "600"))) {
            assertThatThrownBy(() -> p.signalProcessGroup(Processes.SIGKILL))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("pid " + p.pid() + " does not lead a process group")
                    .hasMessageContaining("NEW_PROCESS_GROUP");
            assertThat(p.isAlive()).isTrue();
            p.kill();
            p.waitFor();
        }
    }

    @Test
    void badArgumentsAndUseAfterCloseAreRefused() throws Exception {
        ProcessDescriptor p = treeOfThree();
        List<Long> members = groupMembers(p.pid());
        assertThatThrownBy(() -> p.signalProcessGroup(65)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("between 0 and 64");
        assertThat(p.signalProcessGroup(0)).isTrue();
        p.killProcessGroup();
        p.close();
        assertThatThrownBy(() -> p.signalProcessGroup(0)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertGroupGone(p.pid(), members);
    }

    @Test
    void killOnCloseWithANewProcessGroupKillsTheWholeGroup() throws Exception {
        ProcessDescriptor p = treeOfThree(SpawnOption.KILL_ON_CLOSE);
        List<Long> members = groupMembers(p.pid());
        p.close();
        assertGroupGone(p.pid(), members);
        assertThat(p.onExit().get(10, TimeUnit.SECONDS).signal()).isEqualTo(Processes.SIGKILL);
    }

    @Test
    void killOnCloseAloneKillsOnlyTheChild() throws Exception {
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", "sleep 600 & echo $!; wait").redirectOutput(ProcessBuilder.Redirect.PIPE);
        ProcessDescriptor p = ProcessDescriptor.start(pb, SpawnOption.KILL_ON_CLOSE);
        long grandchild = Long.parseLong(new BufferedReader(new InputStreamReader(p.stdout(), StandardCharsets.UTF_8)).readLine().strip());
        try {
            p.close();
            assertThat(p.onExit().get(10, TimeUnit.SECONDS).signal()).isEqualTo(Processes.SIGKILL);
            assertThat(ProcessHandle.of(grandchild).map(ProcessHandle::isAlive)).as("the grandchild survives").contains(true);
        } finally {
            ProcessHandle.of(grandchild).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    // ------------------------------------------------------------------ in a JVM of their own

    @Test
    void beforeLinux69ChildrenGroupsAreSignalledWithKillUnderTheReapLock() throws Exception {
        ScenarioJvm.Result r = ScenarioJvm.run(ProcessGroupScenario.class, Duration.ofSeconds(40),
                List.of("-Dfdkit.disable=PIDFD_SIGNAL_PROCESS_GROUP"), "group-fallback");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.value("feature")).isEqualTo("false");
        assertThat(r.value("tree.killed")).isEqualTo("true");
        assertThat(r.value("after.reap")).isEqualTo("false");
        assertThat(r.value("non.child")).isEqualTo("UnsupportedOperationException");
    }

    @Test
    void killOnCloseChildrenAreKilledWhenTheJvmExitsWithoutClosingThem() throws Exception {
        ScenarioJvm.Result r = ScenarioJvm.run(ProcessGroupScenario.class, Duration.ofSeconds(40), List.of(), "kill-on-exit");
        assertThat(r.exitCode()).as(r.output()).isZero();
        long killed = r.number("kill.on.close.pid");
        long kept = r.number("plain.pid");
        try {
            assertThat(awaitGone(killed)).as("KILL_ON_CLOSE child %d is killed at JVM exit", killed).isTrue();
            assertThat(ProcessHandle.of(kept).map(ProcessHandle::isAlive)).as("a plain child outlives the JVM").contains(true);
        } finally {
            ProcessHandle.of(kept).ifPresent(ProcessHandle::destroyForcibly);
            ProcessHandle.of(killed).ifPresent(ProcessHandle::destroyForcibly);
        }
    }
}
