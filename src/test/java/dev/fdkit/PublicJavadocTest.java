package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every public type and member of the exported package is documented: {@code javadoc -Xdoclint:all} over
 * src/main/java/dev/fdkit gives no warning and no error. Checked by the build, not by hand.
 */
class PublicJavadocTest {
    @Test
    void doclintFindsNothingInTheExportedPackage(@TempDir Path out) throws IOException, InterruptedException {
        Path javadoc = Path.of(System.getProperty("java.home"), "bin", "javadoc"); // the JDK running the tests
        assertThat(javadoc).as("a JDK with the javadoc tool").isExecutable();
        List<String> args = new ArrayList<>(List.of(javadoc.toString(), "-Xdoclint:all", "-Xmaxwarns", "10000", "-Xmaxerrs", "10000", "-quiet",
                "--release", "22", "-d", out.toString(), "-cp", Path.of("src/main/java").toString()));
        try (Stream<Path> files = Files.list(Path.of("src/main/java/dev/fdkit"))) {
            files.filter(f -> f.toString().endsWith(".java")).sorted().forEach(f -> args.add(f.toString()));
        }
        Process run = new ProcessBuilder(args).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String report = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(run.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).as("javadoc finished").isTrue();
        int status = run.exitValue();
        List<String> problems = report.lines()
                .filter(l -> l.contains(": warning:") || l.contains(": error:")).toList();
        assertThat(problems).as("doclint findings").isEmpty();
        assertThat(status).as("javadoc exit status; output:%n%s", report).isZero();
    }
}
