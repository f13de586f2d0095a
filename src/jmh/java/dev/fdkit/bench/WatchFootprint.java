package dev.fdkit.bench;

import com.zaxxer.nuprocess.NuAbstractProcessHandler;
import com.zaxxer.nuprocess.NuProcess;
import com.zaxxer.nuprocess.NuProcessBuilder;
import dev.fdkit.ProcessDescriptor;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Rows "threads / memory while watching 1,000 and 10,000 children": not a timing benchmark, so a main program
 * (bin/bench collects its JSON lines, the C baselines' format, into bench/java-result.json).
 * <p>
 * Every case — fdkit, java.lang.ProcessBuilder, NuProcess 3.0.0, each at each count — runs in a fresh JVM with
 * this JVM's options plus a fixed, pre-touched heap ({@value #CASE_HEAP}), so that heap sizing never moves
 * RSS: {@code WatchFootprint --case IMPL COUNT}. A case counts the JVM's threads at start, rehearses (starts,
 * kills and reaps 1,000 children: class loading, the JIT, the poller or reaper pool), takes a full GC and
 * reads the Java heap in use and VmRSS, then starts COUNT {@code /bin/sleep 600} children (stdin inherited, stdout/stderr to /dev/null where
 * the library can; NuProcess always pipes all three), waits a moment, takes a full GC again and reads:
 * <ul>
 *   <li>{@code footprint.IMPL.COUNT.threads}: live Java threads ({@code Thread.getAllStackTraces()}) minus
 *       those at start: the threads watching costs (the JDK: one "process reaper" per child);</li>
 *   <li>{@code footprint.fdkit.COUNT.fdkit_threads}: fdkit's own threads (names starting "fdkit-");</li>
 *   <li>{@code footprint.IMPL.COUNT.native} and {@code .heap}: the growth of VmRSS (/proc/self/status; the heap
 *       is pre-touched, so this is native memory: thread stacks, direct buffers, malloc) and of the Java heap
 *       in use after a full GC, per watched child, in KiB; {@code .memory} is their sum. The children's own
 *       memory is in neither.</li>
 * </ul>
 * Extra fields (not read by the report): OS threads (/proc/self/status Threads), descriptors per child, the
 * spawn time per child. Then every child is killed and reaped, and the case checks that none is left
 * (a shutdown hook kills them too if the JVM is interrupted). Children are {@code sleep 600}, not infinite,
 * so even a JVM killed with SIGKILL leaves nothing behind for long.
 * <p>
 * Usage: {@code WatchFootprint [--quick]} (1,000 children only; else 1,000 and 10,000). 10,000 NuProcess
 * children need 30,000 descriptors: bin/bench raises the descriptor hard limit where it may, and HotSpot
 * raises the soft limit to it. Where the limit stays lower, a case starts as many children as fit (3
 * descriptors each for NuProcess, 1 for fdkit) and says so in its settings; likewise a case stops starting
 * children after 90 s (NuProcess's spawn slows down with every live child). The per-child figures are
 * normalised by the children actually started.
 */
public final class WatchFootprint {
    private static final List<String> IMPLEMENTATIONS = List.of("fdkit", "jdk", "nuprocess");
    private static final List<String> SLEEPER = List.of("/bin/sleep", "600");
    private static final String CASE_HEAP = "-Xms512m -Xmx512m -XX:+AlwaysPreTouch";
    private static final int REHEARSAL = 1_000;
    /** NuProcess's spawn slows down with every live child (70 ms each at 6,600): a case stops starting children after this. */
    private static final long SPAWN_BUDGET_NANOS = TimeUnit.SECONDS.toNanos(90);

    private WatchFootprint() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 3 && args[0].equals("--case")) {
            runCase(args[1], Integer.parseInt(args[2]));
            return;
        }
        boolean quick = args.length > 0 && args[0].equals("--quick");
        for (int count : quick ? List.of(1_000) : List.of(1_000, 10_000)) {
            for (String impl : IMPLEMENTATIONS) forkCase(impl, count);
        }
    }

    /** Runs one case in a fresh JVM with our JVM options, and passes its JSON lines on. */
    private static void forkCase(String impl, int count) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.addAll(List.of(CASE_HEAP.split(" ")));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), WatchFootprint.class.getName(), "--case", impl, String.valueOf(count)));
        Process jvm = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null; ) System.out.println(line);
        }
        int code = jvm.waitFor();
        if (code != 0) System.err.println("WatchFootprint: case " + impl + " " + count + " failed (exit " + code + ")");
    }

    // ------------------------------------------------------------------ one case, in its own JVM

    /** One way of watching children: start one, and kill and reap them all at the end. */
    private interface Watcher {
        void start() throws Exception;

        void killAndReapAll() throws Exception;
    }

    private static void runCase(String impl, int requested) throws Exception {
        // A JVM interrupted (SIGINT, SIGTERM) kills its children on the way out; they are ours, by pid.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> ProcessHandle.current().children().forEach(ProcessHandle::destroyForcibly)));
        int threadsAtStart = Thread.getAllStackTraces().size();
        warmUp(impl);
        long heapBefore = heapUsedAfterGc();
        long rssBefore = status("VmRSS");
        int fdsBefore = openDescriptors();
        long fdLimit = maxOpenFiles();
        int fdsPerChild = impl.equals("nuprocess") ? 3 : impl.equals("fdkit") ? 1 : 0;
        int count = fdsPerChild == 0 ? requested : (int) Math.min(requested, (fdLimit - fdsBefore - 200) / fdsPerChild);
        String shortfall = count == requested ? "" : String.format(Locale.ROOT, " (not %d: they need %d descriptors each and the "
                + "descriptor limit here is %d)", requested, fdsPerChild, fdLimit);

        Watcher watcher = watcher(impl);
        long spawnStart = System.nanoTime();
        int started = 0;
        try {
            long lastSpawn = 0;
            for (; started < count && System.nanoTime() - spawnStart < SPAWN_BUDGET_NANOS; started++) {
                long t = System.nanoTime();
                watcher.start();
                lastSpawn = System.nanoTime() - t;
            }
            long spawnNanos = System.nanoTime() - spawnStart;
            if (started < count) {
                shortfall += String.format(Locale.ROOT, " (not %d: starting children stopped after %d s, the last took %.1f ms)",
                        count, TimeUnit.NANOSECONDS.toSeconds(SPAWN_BUDGET_NANOS), lastSpawn / 1e6);
                count = started;
            }
            Thread.sleep(1000); // threads started per child settle; nothing else is running
            long heapDelta = heapUsedAfterGc() - heapBefore;
            long rssDelta = status("VmRSS") - rssBefore;
            var threads = Thread.getAllStackTraces().keySet();
            int javaThreads = threads.size();
            long fdkitThreads = threads.stream().filter(t -> t.getName().startsWith("fdkit-")).count();
            long osThreads = status("Threads");
            double fdsPerChildSeen = (openDescriptors() - fdsBefore) / (double) count;
            long alive = ProcessHandle.current().children().filter(ProcessHandle::isAlive).count();
            if (alive < count) throw new IllegalStateException("only " + alive + " of " + count + " children alive while measuring");

            String key = "footprint." + impl + "." + requested;
            String extra = String.format(Locale.ROOT, "\"children\":%d,\"java_threads\":%d,\"java_threads_at_start\":%d,"
                    + "\"fdkit_threads\":%d,\"os_threads\":%d,\"fds_per_child\":%.2f,\"spawn_ms_per_child\":%.3f",
                    count, javaThreads, threadsAtStart, fdkitThreads, osThreads, fdsPerChildSeen, spawnNanos / 1e6 / count);
            String settings = String.format(Locale.ROOT, "%d live children%s, one JVM (%s); %d Java threads at start, %d while "
                    + "watching, %d OS threads; %.2f descriptors per child; spawned in %.3f ms per child",
                    count, shortfall, CASE_HEAP, threadsAtStart, javaThreads, osThreads, fdsPerChildSeen, spawnNanos / 1e6 / count);
            double nativeKib = rssDelta / (double) count; // VmRSS is in kB
            double heapKib = heapDelta / 1024.0 / count;
            line(key + ".threads", "threads", javaThreads - threadsAtStart, settings, extra);
            if (impl.equals("fdkit")) line(key + ".fdkit_threads", "threads", fdkitThreads, settings, extra);
            line(key + ".memory", "KiB/child", nativeKib + heapKib, settings, extra);
            line(key + ".native", "KiB/child", nativeKib, settings, extra);
            line(key + ".heap", "KiB/child", heapKib, settings, extra);
        } finally {
            watcher.killAndReapAll();
            reapCheck(started);
        }
    }

    private static void line(String name, String unit, double score, String settings, String extra) {
        System.out.printf(Locale.ROOT, "{\"name\":\"%s\",\"unit\":\"%s\",\"score\":%.3f,\"error\":0,\"settings\":\"%s\",\"runs\":[%.3f],%s}%n",
                name, unit, score, settings, score, extra);
        System.out.flush();
    }

    private static Watcher watcher(String impl) {
        return switch (impl) {
            case "fdkit" -> new Watcher() {
                final List<ProcessDescriptor> children = new ArrayList<>();

                @Override
                public void start() throws IOException {
                    children.add(ProcessDescriptor.start(sleeper()));
                }

                @Override
                public void killAndReapAll() throws InterruptedException {
                    for (ProcessDescriptor p : children) p.kill();
                    for (ProcessDescriptor p : children) {
                        p.waitFor();
                        p.close();
                    }
                }
            };
            case "jdk" -> new Watcher() {
                final List<Process> children = new ArrayList<>();

                @Override
                public void start() throws IOException {
                    children.add(sleeper().start());
                }

                @Override
                public void killAndReapAll() throws InterruptedException {
                    for (Process p : children) p.destroyForcibly();
                    for (Process p : children) p.waitFor();
                }
            };
            case "nuprocess" -> new Watcher() {
                final List<NuProcess> children = new ArrayList<>();

                @Override
                public void start() throws IOException {
                    NuProcessBuilder builder = new NuProcessBuilder(SLEEPER);
                    builder.setProcessListener(new NuAbstractProcessHandler() {});
                    NuProcess p = builder.start();
                    if (p == null || !p.isRunning()) throw new IOException("NuProcess could not start child " + (children.size() + 1));
                    children.add(p);
                }

                @Override
                public void killAndReapAll() throws InterruptedException {
                    for (NuProcess p : children) p.destroy(true);
                    for (NuProcess p : children) p.waitFor(0, TimeUnit.SECONDS);
                }
            };
            default -> throw new IllegalArgumentException("unknown implementation " + impl + "; one of " + IMPLEMENTATIONS);
        };
    }

    private static ProcessBuilder sleeper() {
        return new ProcessBuilder(SLEEPER).redirectInput(ProcessBuilder.Redirect.INHERIT)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
    }

    /**
     * A rehearsal: {@value #REHEARSAL} sleepers started, killed and reaped the way the case will, so that class
     * loading, the JIT's compiled code and whatever the library starts once are in the "before" figures and not
     * charged to the watched children. The JDK's are started and killed one at a time: its reaper threads idle
     * for a minute before they end, and a batch would leave that many behind, which the case would then reuse.
     */
    private static void warmUp(String impl) throws Exception {
        if (impl.equals("jdk")) {
            for (int i = 0; i < REHEARSAL; i++) {
                Process p = sleeper().start();
                p.destroyForcibly();
                p.waitFor();
            }
            return;
        }
        Watcher rehearsal = watcher(impl);
        try {
            for (int i = 0; i < REHEARSAL; i++) rehearsal.start();
        } finally {
            rehearsal.killAndReapAll();
        }
        reapCheck(REHEARSAL);
    }

    /** After the kill: every child reaped (no zombie, none alive); kills any straggler, by pid, and fails. */
    private static void reapCheck(int started) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        List<ProcessHandle> left;
        while (!(left = ProcessHandle.current().children().toList()).isEmpty() && System.nanoTime() < deadline) Thread.sleep(50);
        if (!left.isEmpty()) {
            left.forEach(ProcessHandle::destroyForcibly);
            throw new IllegalStateException(left.size() + " of " + started + " children not reaped 30 s after the kill");
        }
    }

    private static long heapUsedAfterGc() {
        for (int i = 0; i < 3; i++) System.gc();
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    /** A numeric field of /proc/self/status (VmRSS in kB, Threads). */
    private static long status(String field) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith(field + ":")) return Long.parseLong(l.substring(field.length() + 1).strip().split("\\s+")[0]);
        }
        throw new IOException("no " + field + " in /proc/self/status");
    }

    /** The soft RLIMIT_NOFILE, as /proc/self/limits shows it (HotSpot has raised it to the hard limit). */
    private static long maxOpenFiles() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (l.startsWith("Max open files")) {
                String soft = l.substring("Max open files".length()).strip().split("\\s+")[0];
                return soft.equals("unlimited") ? Long.MAX_VALUE / 4 : Long.parseLong(soft);
            }
        }
        throw new IOException("no \"Max open files\" in /proc/self/limits");
    }

    private static int openDescriptors() throws IOException {
        try (Stream<Path> fds = Files.list(new File("/proc/self/fd").toPath())) {
            return (int) fds.count();
        }
    }
}
