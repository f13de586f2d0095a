package dev.fdkit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a child inherits from a hostile parent ({@link InheritanceScenario}: signals ignored process-wide,
 * others blocked in the spawning thread, descriptors open without close-on-exec): exactly what was asked —
 * descriptors 0, 1, 2 as redirected, an empty signal mask, default dispositions, the environment given.
 */
@ExtendWith(LeakGuard.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InheritanceTest {
    private static final String NONE = "0000000000000000";
    static final FaultJvms.Run RUN = FaultJvms.Run.of(InheritanceScenario.class);
    private static ScenarioJvm.Result r;

    @BeforeAll
    static void runTheHostileParent() throws Exception {
        r = FaultJvms.result(RUN);
        assertThat(r.exitCode()).as("child exit code; output:%n%s", r.output()).isZero();
        assertThat(r.value("done")).isEqualTo("true");
    }

    @Test
    void theParentReallyIgnoresAndBlocksSignalsAndHoldsADescriptorWithoutCloseOnExec() {
        long ignored = Long.parseUnsignedLong(r.value("parent.SigIgn"), 16);
        long blocked = Long.parseUnsignedLong(r.value("parent.SigBlk"), 16);
        assertThat(ignored & bit(RawLinux.SIGHUP)).as("SIGHUP ignored").isNotZero();
        assertThat(ignored & bit(RawLinux.SIGPIPE)).as("SIGPIPE ignored").isNotZero();
        assertThat(blocked & bit(RawLinux.SIGUSR1)).as("SIGUSR1 blocked").isNotZero();
        assertThat(blocked & bit(RawLinux.SIGTERM)).as("SIGTERM blocked").isNotZero();
        assertThat(r.value("parent.heldOpen")).isEqualTo("true");
    }

    private static long bit(int signal) {
        return 1L << (signal - 1);
    }

    @Test
    void theChildStartsWithAnEmptySignalMaskAndNoSignalIgnoredOrCaught() {
        assertThat(r.value("child.SigBlk")).isEqualTo(NONE);
        assertThat(r.value("child.SigIgn")).isEqualTo(NONE);
        assertThat(r.value("child.SigCgt")).isEqualTo(NONE);
    }

    @Test
    void theChildHoldsDescriptorsZeroOneTwoAsRedirectedAndNothingElse() {
        String[] fds = r.value("child.fds").split(";");
        assertThat(fds).hasSize(3);
        assertThat(fds[0]).isEqualTo("0 " + r.value("input"));
        assertThat(fds[1]).matches("1 pipe:\\[\\d+\\]");
        assertThat(fds[2]).isEqualTo("2 " + r.value("errors"));
        assertThat(r.value("child.fdsInherited")).isEqualTo("0 1 2");
        assertThat(r.value("child.fdsPlain0")).as("nothing redirected: the shared file actions").isEqualTo("0 1 2");
        assertThat(r.value("child.fdsPlain1")).as("the same, built once").isEqualTo("0 1 2");
    }

    @Test
    void theChildGetsExactlyTheEnvironmentAskedFor() {
        assertThat(r.value("child.env")).isEqualTo("ONLY=this");
    }
}
