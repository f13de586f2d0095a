package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.fdkit.Processes.SIGKILL;
import static dev.fdkit.Processes.SIGTERM;
import static dev.fdkit.Processes.await;
import static dev.fdkit.Processes.awaitGone;
import static dev.fdkit.Processes.stat;
import static dev.fdkit.Processes.zombieChildrenAfter;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** killTree / signalTree against real process trees. */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProcessTreeTest {

    /** A shell that starts, in a new session, a shell that starts a sleep; both descendants print their pid. */
    private static final String TREE = "setsid sh -c 'echo $$; sleep 30 & echo $!; wait' & wait";

    @Test
    void killTreeEndsGrandchildrenThatLeftTheSession() throws Exception {
        try (ProcessDescriptor root = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", TREE))) {
            BufferedReader out = new BufferedReader(new InputStreamReader(root.stdout(), StandardCharsets.UTF_8));
            long grandchild = Long.parseLong(out.readLine());
            long greatGrandchild = Long.parseLong(out.readLine());
            assertThat(stat(grandchild).session()).as("left the root's session").isEqualTo(grandchild).isNotEqualTo(stat(root.pid()).session());
            assertThat(stat(greatGrandchild).ppid()).isEqualTo(grandchild);

            assertThat(root.killTree()).isEqualTo(3);

            assertThat(await(root.onExit(), 10).signal()).isEqualTo(SIGKILL);
            assertThat(awaitGone(grandchild)).as("grandchild %d gone", grandchild).isTrue();
            assertThat(awaitGone(greatGrandchild)).as("great-grandchild %d gone", greatGrandchild).isTrue();
            assertThat(root.killTree()).as("nothing left to signal").isZero();
        }
        assertThat(zombieChildrenAfter(Duration.ofSeconds(2))).isEmpty();
    }

    @Test
    void aCatchableSignalIsActedOnAfterTheTreeIsResumed() throws Exception {
        // A signal whose default action kills does so in a stopped process too; a handled one waits for SIGCONT.
        try (ProcessDescriptor root = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "trap 'exit 3' TERM; sleep 30 & echo $!; wait"))) {
            long child = Long.parseLong(new BufferedReader(new InputStreamReader(root.stdout(), StandardCharsets.UTF_8)).readLine());
            // $! is printed right after the fork: until the child execs sleep it is a copy of the shell, with the trap's
            // handler installed, and a SIGTERM caught there is lost at the exec (seen in CI: the sleep ran on).
            assertThat(Processes.awaitCondition(Duration.ofSeconds(10), () -> "sleep".equals(comm(child))))
                    .as("child %d has exec'd sleep", child).isTrue();
            assertThat(root.signalTree(SIGTERM)).isEqualTo(2);
            assertThat(await(root.onExit(), 10).code()).as("the shell's trap ran").isEqualTo(3);
            assertThat(awaitGone(child)).as("child %d gone", child).isTrue();
        }
    }

    private static String comm(long pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/comm")).strip();
        } catch (IOException e) {
            return null; // gone
        }
    }

    @Test
    void aParentThatKeepsForkingCannotOutrunTheWalk() throws Exception {
        // Without stopping first, children forked after their parent's listing survive, re-parented.
        try (ProcessDescriptor root = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "while :; do sleep 30 & done"),
                SpawnOption.NEW_PROCESS_GROUP)) {
            assertThat(Processes.awaitCondition(Duration.ofSeconds(10), () -> Processes.groupMembers(root.pid()).size() >= 20))
                    .as("20 children within 10 s").isTrue();
            assertThat(root.killTree()).isGreaterThanOrEqualTo(20);
            await(root.onExit(), 10);
            Processes.awaitCondition(Duration.ofSeconds(10), () -> Processes.groupMembers(root.pid()).isEmpty());
            assertThat(Processes.groupMembers(root.pid())).as("members of the tree's process group still running").isEmpty();
        }
    }

    @Test
    void theTreeOfThisJvmIsRefused() throws Exception {
        try (ProcessDescriptor self = ProcessDescriptor.open(ProcessHandle.current().pid())) {
            assertThatThrownBy(() -> self.signalTree(0)).isInstanceOf(IllegalStateException.class).hasMessageContaining("is this JVM");
        }
        try (ProcessDescriptor closed = ProcessDescriptor.start(new ProcessBuilder("true"))) {
            closed.close();
            assertThatThrownBy(closed::killTree).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            assertThatThrownBy(() -> closed.signalTree(65)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("signal");
        }
    }
}
