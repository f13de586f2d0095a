package dev.fdkit;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A second JVM running {@code main} with this JVM's java, class path and native access, its output (stdout
 * and stderr) going to {@code log}.
 * <p>
 * NOTE: reconstructed from its uses in FutexTest (start, process, output(), destroy()) after a file of
 * this name may have been overwritten by mistake; check it against the original if there was one.
 */
final class ChildJvm {
    final Process process;
    private final Path log;

    private ChildJvm(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    static ChildJvm start(Class<?> main, Path log, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow(() -> new IOException("cannot tell which java runs this JVM")));
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main.getName());
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        return new ChildJvm(process, log);
    }

    /** Everything the child has printed so far. */
    String output() {
        try {
            return Files.readString(log);
        } catch (NoSuchFileException e) {
            return "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Kills the child if it still runs and waits until it is gone. */
    void destroy() throws InterruptedException {
        if (process.isAlive()) process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }
}
