package dev.fdkit.internal;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Small C programs compiled by this machine's gcc against {@code headers/} (the header jextract read), for
 * the tests that check ABI knowledge (the syscall layer's, and the object model's wait-status decoding) against
 * the C compiler. Tests without gcc are skipped.
 */
public final class CProgram {
    private CProgram() {}

    /** The project directory: Maven's basedir, else the working directory. */
    public static Path project() {
        return Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
    }

    /** gcc on the PATH, or null. */
    public static Path gcc() {
        return onPath("gcc");
    }

    /**
     * Writes {@code source} to {@code dir/name.c} and compiles it with gcc into {@code dir/name}; returns what
     * gcc printed (warnings). Fails if it does not compile.
     */
    public static String compile(Path dir, String name, String source) throws IOException, InterruptedException {
        Path gcc = gcc();
        if (gcc == null) throw new AssertionError("gcc is not on the PATH");
        Path file = dir.resolve(name + ".c");
        Files.writeString(file, source);
        return run(dir, List.of(gcc.toString(), "-std=gnu11", "-Werror=implicit-function-declaration", "-I", project().resolve("headers").toString(),
                "-o", dir.resolve(name).toString(), file.toString()), "gcc");
    }

    /**
     * Runs a command with output to a file in {@code dir} (no pipes held by this JVM) and returns that output;
     * fails on a non-zero exit or after 60 s.
     */
    public static String run(Path dir, List<String> command, String what) throws IOException, InterruptedException {
        Path output = Files.createTempFile(dir, what, ".out");
        Process p = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(output.toFile())
                .redirectErrorStream(true)
                .start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError(what + " did not finish within 60 s: " + command);
        }
        String text = Files.readString(output);
        if (p.exitValue() != 0) throw new AssertionError(what + " failed with exit " + p.exitValue() + ": " + command + "\n" + text);
        return text;
    }

    private static Path onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (dir.isEmpty()) continue;
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) return candidate;
        }
        return null;
    }
}
