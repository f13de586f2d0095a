package dev.fdkit;

import dev.fdkit.internal.CProgram;
import dev.fdkit.internal.Syscalls;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link WaitStatus}, the one wait-status decoder, against the C library's macros compiled by gcc: every 16-bit
 * status word (all a kernel can produce) and some beyond; and its reading of waitid's siginfo against the status
 * word waitpid gives for the same event of a real child (exit, signal, stop, continue).
 */
class WaitStatusTest {
    private static final ResourceUsage USAGE = new ResourceUsage(Duration.ofMillis(3), Duration.ofMillis(1), 1234);

    private static final String SOURCE = """
            #include <limits.h>
            #include <signal.h>
            #include <stdio.h>
            #include <stdlib.h>
            #include <sys/resource.h>
            #include <sys/wait.h>
            #include <unistd.h>

            static void word(int s) {
                printf("W %d %d %d %d %d %d %d %d %d\\n", s, WIFEXITED(s) ? 1 : 0, WEXITSTATUS(s), WIFSIGNALED(s) ? 1 : 0,
                       WTERMSIG(s), WCOREDUMP(s) ? 1 : 0, WIFSTOPPED(s) ? 1 : 0, WSTOPSIG(s), WIFCONTINUED(s) ? 1 : 0);
            }

            /* The same event seen twice: waitid WNOWAIT (siginfo), then waitpid (the status word). */
            static void event(pid_t pid, int waitidWhat, int waitpidWhat) {
                siginfo_t si = {0};
                int status;
                if (waitid(P_PID, pid, &si, waitidWhat | WNOWAIT) != 0 || waitpid(pid, &status, waitpidWhat) != pid) { perror("wait"); exit(2); }
                printf("E %d %d %d\\n", si.si_code, si.si_status, status);
            }

            static pid_t child(int exitCode) {
                pid_t pid = fork();
                if (pid < 0) { perror("fork"); exit(2); }
                if (pid == 0) {
                    if (exitCode >= 0) _exit(exitCode);
                    for (;;) pause();
                }
                return pid;
            }

            int main(void) {
                for (int s = 0; s <= 0xffff; s++) word(s);
                int beyond[] = {0x10000, 0x1ff00, 0x1007f, 0x1ffff, 0x10085, -1, INT_MIN, INT_MAX, 0x7fffff00};
                for (unsigned i = 0; i < sizeof beyond / sizeof beyond[0]; i++) word(beyond[i]);

                int codes[] = {0, 3, 255};
                for (unsigned i = 0; i < 3; i++) event(child(codes[i]), WEXITED, 0);
                int signals[] = {SIGTERM, SIGKILL, SIGQUIT, SIGUSR1};
                struct rlimit noCore = {0, 0};
                setrlimit(RLIMIT_CORE, &noCore); /* inherited: SIGQUIT kills without writing a core */
                for (unsigned i = 0; i < 4; i++) {
                    pid_t pid = child(-1);
                    kill(pid, signals[i]);
                    event(pid, WEXITED, 0);
                }
                pid_t pid = child(-1);
                kill(pid, SIGSTOP);
                event(pid, WSTOPPED, WUNTRACED);
                kill(pid, SIGCONT);
                event(pid, WCONTINUED, WCONTINUED);
                kill(pid, SIGKILL);
                event(pid, WEXITED, 0);
                return 0;
            }
            """;

    private static List<int[]> words;
    private static List<int[]> events;

    @BeforeAll
    static void runTheMacros(@TempDir Path work) throws Exception {
        assumeTrue(CProgram.gcc() != null, "gcc is not on the PATH: the wait-status table against the C macros is skipped");
        CProgram.compile(work, "wait_status", SOURCE);
        List<String> lines = CProgram.run(work, List.of(work.resolve("wait_status").toString()), "wait_status").lines().toList();
        words = lines.stream().filter(l -> l.startsWith("W ")).map(WaitStatusTest::ints).toList();
        events = lines.stream().filter(l -> l.startsWith("E ")).map(WaitStatusTest::ints).toList();
    }

    private static int[] ints(String line) {
        String[] parts = line.substring(2).split(" ");
        int[] values = new int[parts.length];
        for (int i = 0; i < parts.length; i++) values[i] = Integer.parseInt(parts[i]);
        return values;
    }

    @Test
    void everyStatusWordDecodesAsTheCMacrosSay() {
        assertThat(words).hasSize(0x10000 + 9);
        Set<ExitStatus.Kind> kinds = EnumSet.noneOf(ExitStatus.Kind.class);
        for (int[] w : words) {
            int word = w[0];
            ExitStatus s = WaitStatus.decode(word, USAGE);
            kinds.add(s.kind());
            String where = "status 0x" + Integer.toHexString(word) + " decoded as " + s;
            assertThat(s.kind() == ExitStatus.Kind.EXITED).as(where + ": WIFEXITED").isEqualTo(w[1] == 1);
            assertThat(s.kind() == ExitStatus.Kind.KILLED).as(where + ": WIFSIGNALED").isEqualTo(w[3] == 1);
            assertThat(s.kind() == ExitStatus.Kind.STOPPED).as(where + ": WIFSTOPPED").isEqualTo(w[6] == 1);
            assertThat(s.kind() == ExitStatus.Kind.CONTINUED).as(where + ": WIFCONTINUED").isEqualTo(w[8] == 1);
            assertThat(s.usage()).isSameAs(USAGE);
            switch (s.kind()) {
                case EXITED -> assertThat(s.code()).as(where + ": WEXITSTATUS").isEqualTo(w[2]);
                case KILLED -> {
                    assertThat(s.signal()).as(where + ": WTERMSIG").isEqualTo(w[4]);
                    assertThat(s.coreDumped()).as(where + ": WCOREDUMP").isEqualTo(w[5] == 1);
                }
                case STOPPED -> assertThat(s.signal()).as(where + ": WSTOPSIG").isEqualTo(w[7]);
                case CONTINUED -> assertThat(s.signal()).isZero();
                case UNKNOWN -> assertThat(s.detail()).as(where).contains("0x" + Integer.toHexString(word));
            }
        }
        assertThat(kinds).as("the table reaches every kind").containsExactlyInAnyOrder(ExitStatus.Kind.values());
    }

    @Test
    void waitidsSiginfoDecodesAsTheStatusWordOfTheSameEvent() {
        assertThat(events).hasSize(10);
        Set<ExitStatus.Kind> kinds = EnumSet.noneOf(ExitStatus.Kind.class);
        for (int[] e : events) {
            ExitStatus fromSiginfo = WaitStatus.fromWaitid(new Syscalls.WaitResult(1, e[0], e[1], 3000, 1000, 1234));
            kinds.add(fromSiginfo.kind());
            assertThat(fromSiginfo).as("si_code %d, si_status %d against status word 0x%x", e[0], e[1], e[2])
                    .isEqualTo(WaitStatus.decode(e[2], USAGE));
        }
        assertThat(kinds).containsExactlyInAnyOrder(ExitStatus.Kind.EXITED, ExitStatus.Kind.KILLED, ExitStatus.Kind.STOPPED, ExitStatus.Kind.CONTINUED);
        assertThat(WaitStatus.fromWaitid(new Syscalls.WaitResult(1, 0, 0, 0, 0, 0)).kind()).isEqualTo(ExitStatus.Kind.UNKNOWN);
    }
}
