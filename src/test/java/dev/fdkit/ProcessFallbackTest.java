package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The no-pidfd fallback, forced with {@code -Dfdkit.disable=pidfd_open}. The feature probe runs once per
 * JVM, so the scenario ({@link FallbackScenario}) runs in a JVM of its own; this test starts it and judges
 * its output and exit code.
 */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ProcessFallbackTest {

    @Test
    void withoutPidfdsChildrenAreStillReapedExactlyAndNonChildrenAreNeverSignalled() throws Exception {
        String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
        // surefire sets java.class.path to the test class path (its booter jar alone would not do)
        String classPath = System.getProperty("java.class.path");
        assertThat(classPath).contains("test-classes");
        List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-Dfdkit.disable=pidfd_open", "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                "-cp", classPath, FallbackScenario.class.getName()));
        Process jvm = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(new File("/dev/null")).start();
        CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(jvm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        if (!jvm.waitFor(60, TimeUnit.SECONDS)) {
            jvm.destroyForcibly().waitFor();
            throw new AssertionError("fallback JVM did not finish in 60 s:\n" + output.get(5, TimeUnit.SECONDS));
        }
        String out = output.get(5, TimeUnit.SECONDS);
        System.out.print(out.lines().filter(l -> l.startsWith("FALLBACK")).map(l -> l + "\n").findFirst().orElse(""));
        assertThat(jvm.exitValue()).as("fallback JVM output:\n" + out).isZero();
        assertThat(out)
                .contains("ok: pidfd_open is unavailable: disabled by -Dfdkit.disable")
                .contains("ok: SIGKILL reported")
                .contains("ok: kill() of an exited, reaped child returns false")
                .contains("ok: signal to a non-child: UnsupportedOperationException")
                .contains("ok: no zombie children")
                .contains("ok: open of a thread id says it is a thread")
                .containsPattern("FALLBACK OK \\d+ checks");
    }
}
