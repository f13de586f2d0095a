package dev.fdkit;

import dev.fdkit.internal.CgroupFs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.fdkit.Processes.SIGKILL;
import static dev.fdkit.Processes.await;
import static dev.fdkit.Processes.awaitGone;
import static dev.fdkit.Processes.stat;
import static dev.fdkit.Processes.zombieChildrenAfter;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** SpawnOption.NEW_CGROUP against real process trees and the real cgroup v2 hierarchy; run where it is writable (here: as root). */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ControlGroupTest {

    @BeforeEach
    void needsAWritableCgroup() {
        Capability cgroups = Linux.feature(Feature.CGROUP_KILL);
        assumeTrue(cgroups.available(), () -> "no writable cgroup v2 here: " + cgroups.cause());
    }

    @AfterEach
    void noCgroupOfOursIsLeftBehind() throws IOException {
        if (Linux.has(Feature.CGROUP_KILL)) assertThat(ourCgroups()).isEmpty();
    }

    /** The fdkit-PID-N directories of this JVM below its own cgroup. */
    private static List<Path> ourCgroups() throws IOException {
        try (Stream<Path> entries = Files.list(CgroupFs.probe().directory())) {
            return entries.filter(p -> p.getFileName().toString().startsWith("fdkit-" + ProcessHandle.current().pid() + "-")).toList();
        }
    }

    /** The cgroup v2 path of a process (/proc/PID/cgroup's "0::" line), or null once it is gone. */
    private static String cgroupOf(long pid) throws IOException {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) if (line.startsWith("0::")) return line.substring(3);
        } catch (NoSuchFileException e) {
            return null;
        }
        return null;
    }

    @Test
    void killEndsTheWholeTreeIncludingWhatLeftTheSessionAndTheCgroupIsRemovedOnceEmpty() throws Exception {
        // The shell waits for a line before it forks: a fork before fdkit moved it would stay outside (the window
        // SpawnOption.NEW_CGROUP documents); this test is about what is inside.
        String tree = "read go; setsid sh -c 'echo $$; sleep 30 & echo $!; wait' & wait";
        try (ProcessDescriptor root = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", tree), SpawnOption.NEW_CGROUP)) {
            ControlGroup cgroup = root.controlGroup().orElseThrow();
            assertThat(cgroup.path()).isDirectory();
            assertThat(cgroup.path().getFileName().toString()).startsWith("fdkit-" + ProcessHandle.current().pid() + "-");
            assertThat(cgroup.isPopulated()).isTrue();
            root.stdin().write('\n');
            root.stdin().flush();
            BufferedReader out = new BufferedReader(new InputStreamReader(root.stdout(), StandardCharsets.UTF_8));
            long grandchild = Long.parseLong(out.readLine());
            long greatGrandchild = Long.parseLong(out.readLine());
            assertThat(stat(grandchild).session()).as("left the root's session").isEqualTo(grandchild);
            String expected = cgroupOf(root.pid());
            assertThat(expected).endsWith("/" + cgroup.path().getFileName());
            assertThat(cgroupOf(grandchild)).isEqualTo(expected);
            assertThat(cgroupOf(greatGrandchild)).isEqualTo(expected);
            assertThat(cgroup.onEmpty()).isNotDone();

            assertThat(cgroup.kill()).isTrue();

            assertThat(await(root.onExit(), 10).signal()).isEqualTo(SIGKILL);
            assertThat(awaitGone(grandchild)).as("grandchild %d gone", grandchild).isTrue();
            assertThat(awaitGone(greatGrandchild)).as("great-grandchild %d gone", greatGrandchild).isTrue();
            await(cgroup.onEmpty(), 10);
            assertThat(cgroup.path()).doesNotExist();
            assertThat(cgroup.isPopulated()).isFalse();
            assertThat(cgroup.kill()).as("gone").isFalse();
        }
        assertThat(zombieChildrenAfter(Duration.ofSeconds(2))).isEmpty();
    }

    @Test
    void aCgroupEmptiesWhenTheLastProcessInItExitsNotWhenTheChildDoes() throws Exception {
        // The child exits at once; the background sleep it started keeps the cgroup populated until it is killed.
        try (ProcessDescriptor root = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "read go; sleep 30 & echo $!"), SpawnOption.NEW_CGROUP)) {
            ControlGroup cgroup = root.controlGroup().orElseThrow();
            root.stdin().write('\n');
            root.stdin().flush();
            long sleeper = Long.parseLong(new BufferedReader(new InputStreamReader(root.stdout(), StandardCharsets.UTF_8)).readLine());
            assertThat(await(root.onExit(), 10).code()).isZero();
            assertThat(cgroup.isPopulated()).as("the sleep is still in it").isTrue();
            assertThat(cgroup.onEmpty()).isNotDone();
            assertThat(cgroupOf(sleeper)).endsWith("/" + cgroup.path().getFileName());
            assertThat(cgroup.kill()).isTrue();
            await(cgroup.onEmpty(), 10);
            assertThat(cgroup.path()).doesNotExist();
            assertThat(awaitGone(sleeper)).isTrue();
        }
    }

    @Test
    void aChildThatExitsAtOnceStillGetsItsCgroupRemoved() throws Exception {
        for (int i = 0; i < 20; i++) { // some exit before the move is even made: the move then fails or finds it gone
            try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("true"), SpawnOption.NEW_CGROUP)) {
                await(child.controlGroup().orElseThrow().onEmpty(), 10);
                assertThat(await(child.onExit(), 10).code()).isZero();
                assertThat(child.controlGroup().orElseThrow().path()).doesNotExist();
            }
        }
        assertThat(zombieChildrenAfter(Duration.ofSeconds(2))).isEmpty();
    }

    @Test
    void withoutTheOptionThereIsNoCgroup() throws Exception {
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("true"))) {
            assertThat(child.controlGroup()).isEmpty();
            await(child.onExit(), 10);
        }
    }

    @Test
    void theProbeNamesTheDirectoryAndSaysWhyTheClone3FlagsAreNotUsed() {
        assertThat(Linux.feature(Feature.CGROUP_KILL).cause()).contains("cgroup.kill").contains("writable");
        Capability autokill = Linux.feature(Feature.CLONE_PIDFD_AUTOKILL);
        assertThat(autokill.available()).isFalse();
        assertThat(autokill.cause()).contains(Linux.kernelRelease()).containsAnyOf("older than 7.1", "posix_spawn cannot pass clone3 flags");
    }
}
