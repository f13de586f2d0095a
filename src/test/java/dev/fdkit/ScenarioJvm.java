package dev.fdkit;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs {@link VirtualThreadScenario} (or another scenario's main class) in a fresh JVM — this JVM's java, class path and native access — for
 * settings that are read once per JVM (carrier pool size, {@code -Dfdkit.disable}).
 */
public final class ScenarioJvm {
    /** The child's exit code, its whole output (stdout and stderr) and the {@code key=value} lines in it. */
    public record Result(int exitCode, String output, Map<String, String> values) {
        public String value(String key) {
            assertThat(values).as("output has %s:%n%s", key, output).containsKey(key);
            return values.get(key);
        }

        public long number(String key) {
            return Long.parseLong(value(key));
        }
    }

    private static final AtomicInteger RUNS = new AtomicInteger();

    private ScenarioJvm() {}

    static Result runScenario(Duration timeout, List<String> jvmOptions, String... scenarioArgs) throws IOException, InterruptedException {
        return run(VirtualThreadScenario.class, timeout, jvmOptions, scenarioArgs);
    }

    /** Runs {@code main}'s main method in a fresh JVM, as {@link #runScenario} does. */
    public static Result run(Class<?> main, Duration timeout, List<String> jvmOptions, String... scenarioArgs) throws IOException, InterruptedException {
        return run(main, timeout, jvmOptions, Map.of(), scenarioArgs);
    }

    /** {@link #run(Class, Duration, List, String...)} with {@code environment} added to (or replacing in) ours. */
    static Result run(Class<?> main, Duration timeout, List<String> jvmOptions, Map<String, String> environment, String... scenarioArgs)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow(() -> new AssertionError("cannot tell which java runs this JVM")));
        command.add("--enable-native-access=ALL-UNNAMED");
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main.getName());
        command.addAll(List.of(scenarioArgs));

        // Not Files.createTempFile: its SecureRandom keeps /dev/random and /dev/urandom open for good.
        Path log = Path.of(System.getProperty("java.io.tmpdir"), "fdkit-scenario-" + ProcessHandle.current().pid() + "-" + RUNS.incrementAndGet() + ".log");
        try {
            ProcessBuilder builder = new ProcessBuilder(command);
            builder.environment().putAll(environment);
            Process child = builder
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))) // not surefire's stdin, no pipe to leak
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            if (!child.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                child.destroyForcibly().waitFor();
                throw new AssertionError("child JVM did not finish within " + timeout + ": " + command + "\n" + Files.readString(log));
            }
            String output = Files.readString(log);
            Map<String, String> values = new LinkedHashMap<>();
            for (String line : output.split("\n")) {
                int eq = line.indexOf('=');
                if (eq > 0 && line.substring(0, eq).matches("[A-Za-z0-9_.]+")) values.put(line.substring(0, eq), line.substring(eq + 1));
            }
            return new Result(child.exitValue(), output, values);
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
