package dev.fdkit;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Run by {@link ExhaustionTest} in a JVM of its own, in one of two modes; prints {@code key=value} lines.
 * <ul>
 * <li>{@code descriptors}: RLIMIT_NOFILE reached. First every fdkit class is loaded but none initialised
 *     (loading a class from a directory needs a descriptor), then fdkit is first used with no descriptor
 *     free; then, the limit raised, it must work fully; then each operation is swept through every number
 *     of free descriptors below what it needs, failing with EMFILE each time and leaving exactly as many free.</li>
 * <li>{@code processes}: RLIMIT_NPROC reached. As root the kernel ignores it (the check exempts the root
 *     user, whatever the capabilities), so one platform thread becomes uid nobody with a raw setresuid (the
 *     kernel keeps credentials per thread; glibc's wrapper would change every thread) and uses fdkit first
 *     from there; then it returns to root, the limit is raised, and fdkit must work.</li>
 * </ul>
 */
public final class ExhaustionScenario {
    private ExhaustionScenario() {}

    private static final long TIMEOUT_SECONDS = 10;

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "descriptors" -> descriptors();
            case "processes" -> processes();
            default -> throw new IllegalArgumentException("mode must be descriptors or processes, was " + args[0]);
        }
        System.out.println("done=true");
        System.exit(0);
    }

    private interface Call {
        Object run() throws Exception;
    }

    /** What {@code call} returned or threw, its causes included, on one line. */
    private static String outcome(Call call) {
        try {
            Object result = call.run();
            if (result instanceof AutoCloseable c) c.close();
            return "ok: " + result;
        } catch (Throwable t) {
            StringBuilder s = new StringBuilder(t.toString());
            for (Throwable c = t.getCause(); c != null; c = c.getCause()) s.append(" / cause: ").append(c);
            return s.toString().replace('\n', ' ');
        }
    }

    private static void print(String key, Object value) {
        System.out.println(key + "=" + value);
    }

    private static void printFeatures(String prefix) {
        for (Feature f : List.of(Feature.PIDFD_OPEN, Feature.WAITID_P_PIDFD, Feature.PIDFD_SEND_SIGNAL, Feature.PIDFD_GET_INFO,
                Feature.IO_URING, Feature.IO_URING_FUTEX)) {
            print(prefix + "." + f.name(), Linux.has(f) + " " + Linux.feature(f).cause());
        }
    }

    private static ExitStatus exit(ProcessDescriptor p) throws Exception {
        return p.onExit().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private static ProcessBuilder allPipes(String script) {
        return new ProcessBuilder("sh", "-c", script); // stdin, stdout and stderr are PIPEs
    }

    /** Spawns with three pipes, checks the round trip and the exit code, and the pidfd. */
    private static String spawnRoundTrip() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(allPipes("cat; exit 3"))) {
            p.stdin().write("round trip\n".getBytes(StandardCharsets.UTF_8));
            p.stdin().close();
            String out = new String(p.stdout().readAllBytes(), StandardCharsets.UTF_8).strip();
            ExitStatus s = exit(p);
            return out + ", " + s + ", pidfd " + (p.fd() >= 0);
        }
    }

    // ------------------------------------------------------------------ RLIMIT_NOFILE

    private static void descriptors() throws Exception {
        loadEveryClassWithoutInitialising();
        long ppid = ProcessHandle.current().parent().orElseThrow().pid(); // reading /proc needs a descriptor: now
        print("fds.baseline", Processes.fdCount());

        try (DescriptorLimit limit = DescriptorLimit.exhaust()) {
            print("first.free", limit.freeCount());
            printFeatures("first.feature");
            print("first.eventfd", outcome(EventFd::open));
            print("first.sharedPoller", outcome(() -> Poller.shared().toString()));
            print("first.spawnPipes", outcome(() -> ProcessDescriptor.start(allPipes("exit 3"))));
            print("first.spawn", outcome(() -> ProcessDescriptor.start(new ProcessBuilder("true").inheritIO())));
            print("first.open", outcome(() -> ProcessDescriptor.open(ppid)));
            print("first.uring", outcome(() -> Uring.open(4)));
            print("first.freeAfter", limit.freeCount());
        }

        printFeatures("raised.feature");
        print("raised.eventfd", outcome(EventFd::open));
        print("raised.sharedPoller", outcome(() -> Poller.shared().toString()));
        print("raised.spawn", outcome(ExhaustionScenario::spawnRoundTrip));
        print("raised.open", outcome(() -> {
            try (ProcessDescriptor parent = ProcessDescriptor.open(ppid)) {
                return "alive " + parent.isAlive() + ", signal(0) " + parent.signal(0);
            }
        }));
        print("raised.uring", outcome(() -> {
            try (Uring ring = Uring.open(4)) {
                return ring.submit(new Uring.Nop(7)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            }
        }));
        int afterFirstUse = Processes.fdCount();
        print("fds.afterFirstUse", afterFirstUse);

        try (DescriptorLimit limit = DescriptorLimit.exhaust()) {
            sweep(limit, "eventfd", EventFd::open);
            sweep(limit, "poller", Poller::open);
            sweep(limit, "open", () -> ProcessDescriptor.open(ppid));
            sweep(limit, "uring", () -> Uring.open(4));
            sweep(limit, "spawnPipes", ExhaustionScenario::spawnRoundTrip);
        }
        print("zombies", Processes.zombieChildrenAfter(Duration.ofSeconds(2)));
        print("fds.end", Processes.fdCount());
    }

    /**
     * With 0, 1, 2... descriptors free, {@code open} must fail (EMFILE) and give back every descriptor it
     * took, until it has enough; what it opened is then closed. Prints, per k, the outcome and how many were
     * free afterwards, and the number it needed.
     */
    private static void sweep(DescriptorLimit limit, String name, Call open) {
        for (int k = 0; k < 16; k++) {
            limit.free(k);
            String outcome = outcome(open);
            print("sweep." + name + "." + k, outcome);
            print("sweep." + name + "." + k + ".freeAfter", limit.freeCount());
            if (outcome.startsWith("ok: ")) {
                print("sweep." + name + ".needs", k);
                return;
            }
        }
        print("sweep." + name + ".needs", "more than 15");
    }

    /**
     * Loads (without initialising) every class on the class path's directories: under EMFILE a class not yet
     * loaded could not be read. From a jar, as fdkit is normally used, the jar is open already.
     */
    private static void loadEveryClassWithoutInitialising() throws IOException, ClassNotFoundException {
        ClassLoader loader = ExhaustionScenario.class.getClassLoader();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path root = Path.of(entry);
            if (!Files.isDirectory(root)) continue;
            List<String> names;
            try (Stream<Path> files = Files.walk(root)) {
                names = files.map(root::relativize).map(Path::toString).filter(n -> n.endsWith(".class") && !n.equals("module-info.class"))
                        .map(n -> n.substring(0, n.length() - ".class".length()).replace('/', '.')).toList();
            }
            for (String name : names) Class.forName(name, false, loader);
        }
    }

    // ------------------------------------------------------------------ RLIMIT_NPROC

    private static void processes() throws Exception {
        boolean root = RawLinux.statusField("self", "Uid").startsWith("0\t");
        long[] original = RawLinux.getrlimit(RawLinux.RLIMIT_NPROC);
        CompletableFuture<Void> limited = new CompletableFuture<>();
        Thread nobody = Thread.ofPlatform().name("as-nobody").start(() -> {
            try {
                if (root) RawLinux.setThreadUids(RawLinux.NOBODY, RawLinux.NOBODY, 0);
                print("limited.threadUid", RawLinux.statusField("thread-self", "Uid"));
                print("limited.threadCapEff", RawLinux.statusField("thread-self", "CapEff"));
                RawLinux.setrlimit(RawLinux.RLIMIT_NPROC, 1, original[1]); // as nobody, this thread is all we have: no more
                try {
                    print("limited.eventfd", outcome(EventFd::open));
                    print("limited.spawn", outcome(() -> ProcessDescriptor.start(new ProcessBuilder("true").inheritIO().redirectOutput(Redirect.DISCARD))));
                    print("limited.children", Processes.children());
                } finally {
                    RawLinux.setrlimit(RawLinux.RLIMIT_NPROC, original[0], original[1]);
                    if (root) RawLinux.setThreadUids(0, 0, 0);
                }
                limited.complete(null);
            } catch (Throwable t) {
                limited.completeExceptionally(t);
            }
        });
        limited.get(TIMEOUT_SECONDS * 3, TimeUnit.SECONDS);
        nobody.join();
        print("raised.eventfd", outcome(() -> {
            try (EventFd e = EventFd.open()) {
                e.signal(3);
                return "read " + e.tryReadValue();
            }
        }));
        print("raised.spawn", outcome(ExhaustionScenario::spawnRoundTrip));
        print("zombies", Processes.zombieChildrenAfter(Duration.ofSeconds(2)));
    }
}
