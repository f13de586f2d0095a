package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.ProcessBuilder.Redirect;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * ProcessSet.addGroup: the waitfd seed's "children in a particular process group" (waitpid(-pgid)) against real
 * processes — our children of every origin in the group are reported once each with their status; a grandchild in
 * the group, and our children in other groups, are not.
 */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProcessSetGroupTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** A shell that exits with {@code code} once its stdin is closed: the exit happens when the test says. */
    private static ProcessBuilder exitsWhenStdinCloses(int code) {
        return new ProcessBuilder("sh", "-c", "read x; exit " + code).redirectOutput(Redirect.DISCARD).redirectError(Redirect.INHERIT);
    }

    /** The same, after moving itself into group {@code pgid} (setpgid(0, pgid), as a job-control shell does). */
    private static ProcessBuilder joinsGroup(long pgid, int code) {
        List<String> command = new ArrayList<>(List.of("perl", "-e", "setpgrp(0, shift) or die \"setpgid: $!\"; exec @ARGV", Long.toString(pgid)));
        command.addAll(exitsWhenStdinCloses(code).command());
        return new ProcessBuilder(command).redirectOutput(Redirect.DISCARD).redirectError(Redirect.INHERIT);
    }

    private static void awaitGroup(long pid, long pgid) {
        assertThat(Processes.awaitCondition(WAIT, () -> {
            Processes.Stat s = Processes.stat(pid);
            return s != null && s.pgrp() == pgid;
        })).as("pid %d moved into group %d", pid, pgid).isTrue();
    }

    @Test
    void everyChildOfOursInTheGroupIsReportedOnceWithItsStatusAndNothingElse() throws Exception {
        try (ProcessSet set = ProcessSet.open();
             ProcessDescriptor leader = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "sleep 60 & echo $!; read x; exit 3")
                     .redirectError(Redirect.INHERIT), SpawnOption.NEW_PROCESS_GROUP);
             ProcessDescriptor joiner = ProcessDescriptor.start(joinsGroup(leader.pid(), 5));
             ProcessDescriptor outsider = ProcessDescriptor.start(exitsWhenStdinCloses(9))) {
            long pgid = leader.pid();
            long grandchild = Long.parseLong(leader.asProcess().inputReader().readLine());
            Process jdkJoiner = joinsGroup(pgid, 7).start(); // a java.lang.Process child in the group too
            awaitGroup(joiner.pid(), pgid);
            awaitGroup(jdkJoiner.pid(), pgid);
            assertThat(Processes.stat(grandchild).pgrp()).as("the grandchild is in the group").isEqualTo(pgid);

            List<ProcessDescriptor> added = set.addGroup(pgid);
            assertThat(added).extracting(ProcessDescriptor::pid).containsExactlyInAnyOrder(leader.pid(), joiner.pid(), jdkJoiner.pid());
            assertThat(set.addGroup(pgid)).as("members are not added twice").isEmpty();

            Map<Long, OutputStream> stdin = Map.of(leader.pid(), leader.stdin(), joiner.pid(), joiner.stdin(), jdkJoiner.pid(), jdkJoiner.getOutputStream());
            Map<Long, Integer> expected = Map.of(leader.pid(), 3, joiner.pid(), 5, jdkJoiner.pid(), 7);
            Map<Long, ExitStatus> reported = new HashMap<>();
            for (long pid : List.of(joiner.pid(), jdkJoiner.pid(), leader.pid())) {
                stdin.get(pid).close(); // one exit at a time: each event is that process's
                ProcessSet.ExitEvent event = set.awaitAny(WAIT).orElseThrow(() -> new AssertionError("no exit within " + WAIT + ": " + set));
                try (ProcessDescriptor p = event.process()) {
                    assertThat(p.pid()).isEqualTo(pid);
                    reported.put(p.pid(), event.status());
                }
            }
            for (Map.Entry<Long, ExitStatus> e : reported.entrySet()) {
                ExitStatus status = e.getValue();
                // Our own descriptor may reap first (fdkit's poller, the JDK's reaper): then the kernel publishes the
                // status to other pidfds from 6.15 on; before, the set says it cannot tell.
                if (status.kind() == ExitStatus.Kind.UNKNOWN) assertThat(Linux.has(Feature.PIDFD_INFO_EXIT)).as("%s", status).isFalse();
                else assertThat(status.code()).as("exit code of pid %d", e.getKey()).isEqualTo(expected.get(e.getKey()));
            }
            assertThat(jdkJoiner.waitFor()).isEqualTo(7);

            outsider.stdin().close();
            assertThat(outsider.waitFor().code()).isEqualTo(9);
            ProcessHandle.of(grandchild).ifPresent(ProcessHandle::destroyForcibly);
            assertThat(Processes.awaitGone(grandchild)).isTrue();
            assertThat(set.awaitAny(Duration.ofMillis(50))).as("neither the outsider nor the grandchild").isEmpty();
            assertThat(set.size()).isZero();
        }
        assertThat(Processes.zombieChildrenAfter(Duration.ofSeconds(5))).isEmpty();
    }

    @Test
    void theJvmsOwnGroupHoldsTheChildrenStartedWithoutAGroupOfTheirOwn() throws Exception {
        long ourGroup = Processes.stat(Processes.OUR_PID).pgrp();
        try (ProcessSet set = ProcessSet.open();
             ProcessDescriptor plain = ProcessDescriptor.start(exitsWhenStdinCloses(0));
             ProcessDescriptor leader = ProcessDescriptor.start(exitsWhenStdinCloses(0), SpawnOption.NEW_PROCESS_GROUP)) {
            Process jdk = exitsWhenStdinCloses(0).start();
            List<Long> added = set.addGroup(ourGroup).stream().map(ProcessDescriptor::pid).toList();
            assertThat(added).contains(plain.pid(), jdk.pid()).doesNotContain(leader.pid());
            for (long pid : added) assertThat(Processes.stat(pid).ppid()).as("only our children").isEqualTo(Processes.OUR_PID);
            set.closeAndKill(); // SIGKILL through the set's own descriptors
            assertThat(plain.onExit().join().signal()).isEqualTo(Processes.SIGKILL);
            assertThat(jdk.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            assertThat(leader.isAlive()).as("not in the group, not killed").isTrue();
            leader.stdin().close();
            assertThat(leader.waitFor().code()).isZero();
            jdk.getOutputStream().close();
        }
    }

    @Test
    void aGroupWithNoChildOfOursIsEmptyAndBadArgumentsAreNamed() throws IOException {
        ProcessSet set = ProcessSet.open();
        assertThat(set.addGroup(1)).as("init's group: no child of ours (waitpid would say ECHILD)").isEmpty();
        for (long bad : new long[] {0, -1, 1L << 31}) {
            assertThatThrownBy(() -> set.addGroup(bad)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pgid").hasMessageContaining(Long.toString(bad));
        }
        set.close();
        assertThatThrownBy(() -> set.addGroup(1)).isInstanceOf(IllegalStateException.class).hasMessage("ProcessSet is closed");
    }
}
