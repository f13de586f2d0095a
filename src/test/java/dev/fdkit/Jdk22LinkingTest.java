package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * On JDK 22 and 23 the never-blocking calls cannot be linked {@code critical} together with errno capture,
 * so fdkit links them as ordinary downcalls there. This JDK is newer: {@code -Dfdkit.linker.critical=false}
 * (set by {@link SeccompScenario} for {@code linking=jdk22}, with a filter that refuses nothing) forces that
 * path, and every public-API check of the seccomp scenario must pass on it.
 */
@ExtendWith(LeakGuard.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class Jdk22LinkingTest {
    static final FaultJvms.Run RUN = FaultJvms.Run.of(SeccompScenario.class, "EPERM", "linking=jdk22");

    @Test
    void everyCheckPassesWithTheLinkingOfJdk22() throws Exception {
        ScenarioJvm.Result r = FaultJvms.result(RUN);
        assertThat(r.exitCode()).as("exit code; output:%n%s", r.output()).isZero();
        assertThat(r.value("criticalWithErrno")).as("linked as on JDK 22/23").isEqualTo("false");
        SeccompFaultTest.assertOk("no syscall refused", r, SeccompFaultTest.CHECKS);
    }
}
