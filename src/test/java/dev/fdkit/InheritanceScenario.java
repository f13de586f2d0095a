package dev.fdkit;

import java.io.FileInputStream;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Run by {@link InheritanceTest} in a JVM of its own, made a hostile parent first: SIGHUP and SIGPIPE
 * ignored process-wide, SIGUSR1 and SIGTERM blocked in the spawning thread (besides the SIGQUIT the JVM
 * blocks in its threads), descriptors open without close-on-exec. Children then report what they got;
 * prints {@code key=value} lines.
 */
public final class InheritanceScenario {
    private InheritanceScenario() {}

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("fdkit-inheritance");
        Path input = Files.writeString(dir.resolve("input"), "x");
        Path errors = dir.resolve("errors");
        try (FileInputStream heldOpen = new FileInputStream(input.toFile())) { // java.io: no O_CLOEXEC
            RawLinux.ignore(RawLinux.SIGHUP);
            RawLinux.ignore(RawLinux.SIGPIPE);
            RawLinux.blockInThisThread(RawLinux.SIGUSR1, RawLinux.SIGTERM);
            System.out.println("parent.SigIgn=" + RawLinux.statusField("self", "SigIgn"));
            System.out.println("parent.SigBlk=" + RawLinux.statusField("thread-self", "SigBlk"));
            System.out.println("parent.heldOpen=" + heldOpen.getFD().valid());

            // cat reports its own status: it neither blocks, ignores nor catches anything itself.
            String status = run(new ProcessBuilder("cat", "/proc/self/status"));
            for (String field : new String[] {"SigBlk", "SigIgn", "SigCgt"}) {
                status.lines().filter(l -> l.startsWith(field + ":")).forEach(l -> System.out.println("child." + field + "=" + l.substring(field.length() + 1).trim()));
            }
            // The shell lists its own descriptors (ls runs meanwhile): every redirect kind, and nothing else.
            ProcessBuilder fds = new ProcessBuilder("sh", "-c", "ls -l /proc/$$/fd")
                    .redirectInput(input.toFile()).redirectError(Redirect.appendTo(errors.toFile()));
            System.out.println("child.fds=" + String.join(";", run(fds).lines().filter(l -> l.contains(" -> "))
                    .map(l -> l.substring(l.lastIndexOf(' ', l.indexOf(" -> ") - 1) + 1).replace(" -> ", " ")).toList()));
            System.out.println("child.fdsInherited=" + run(new ProcessBuilder("sh", "-c", "ls /proc/$$/fd").inheritIO().redirectOutput(Redirect.PIPE))
                    .strip().replace('\n', ' '));
            // Everything inherited (ProcessDescriptor.spawn): the file actions and attributes are built once and
            // shared by such spawns, so the second spawn here is served from what the first built. Its descriptors
            // are read from /proc once it sleeps (exec'd, started up).
            for (int round = 0; round < 2; round++) {
                try (ProcessDescriptor p = ProcessDescriptor.spawn("sleep", "30")) {
                    Path proc = Path.of("/proc/" + p.pid());
                    if (!Processes.awaitCondition(java.time.Duration.ofSeconds(10), () -> state(proc) == 'S')) throw new IllegalStateException("sleep never slept");
                    try (var listing = Files.list(proc.resolve("fd"))) {
                        System.out.println("child.fdsPlain" + round + "=" + String.join(" ", listing.map(f -> f.getFileName().toString()).sorted().toList()));
                    }
                    p.kill();
                    p.waitFor();
                }
            }
            ProcessBuilder env = new ProcessBuilder("/usr/bin/env");
            env.environment().clear();
            env.environment().put("ONLY", "this");
            System.out.println("child.env=" + run(env).strip().replace('\n', ';'));
            System.out.println("input=" + input);
            System.out.println("errors=" + errors);
        } finally {
            Files.deleteIfExists(input);
            Files.deleteIfExists(errors);
            Files.delete(dir);
        }
        System.out.println("done=true");
        System.exit(0);
    }

    /** The state letter of /proc/PID/stat, or 0 if it cannot be read. */
    private static char state(Path proc) {
        try {
            String stat = Files.readString(proc.resolve("stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2);
        } catch (IOException e) {
            return 0;
        }
    }

    private static String run(ProcessBuilder pb) throws IOException, Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(pb)) {
            String out = new String(p.stdout().readAllBytes(), StandardCharsets.UTF_8);
            ExitStatus s = p.onExit().get(10, TimeUnit.SECONDS);
            if (!s.success()) throw new IllegalStateException(pb.command() + ": " + s);
            return out;
        }
    }
}
