package dev.fdkit.internal.cli;

import dev.fdkit.ExitStatus;
import dev.fdkit.ProcessDescriptor;
import dev.fdkit.ResourceUsage;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code fdkit run}: many processes, at most N at once, every exit noticed by the one poller thread.
 * Children inherit stdin/stdout/stderr; fdkit's own report goes to stderr (progress) and stdout (statuses).
 */
final class RunCommand {
    private RunCommand() {}

    static final String USAGE = """
            usage: fdkit run [-j N] [-n COUNT] [-q] -- CMD [ARGS...]
                   fdkit run [-j N] [-q] < FILE

            Runs processes at most N at once; one poller thread notices every exit. With -- it runs CMD
            COUNT times. Without --, each non-blank line of stdin is a /bin/sh -c command, run once.
            Children inherit fdkit's stdin, stdout and stderr. fdkit prints each exit status to stdout and
            its progress to stderr, then one line of totals to stdout: processes, failures, wall time, the
            children's CPU time (user+system from rusage), fdkit's own threads (named fdkit-*), the JVM's
            platform threads at the end and at their peak during the run, and the OS threads of the JVM
            process (GC and JIT compiler threads included).

            options:
              -j N        run at most N processes at once (default: the number of CPUs)
              -n COUNT    run CMD COUNT times (default 1). Only with --: commands read from stdin run
                          once each (repeat a line to run it more often)
              -q          quiet: print only the totals
              -h, --help  print this help

            exit status:
              0  every process exited with status 0
              1  some process failed: exited nonzero, was killed by a signal, or could not be started
              2  bad arguments
            """;

    static int run(String[] args, InputStream in, PrintStream out, PrintStream err) throws IOException, InterruptedException {
        int jobs = Runtime.getRuntime().availableProcessors();
        int count = 1;
        boolean countGiven = false;
        boolean quiet = false;
        List<String> command = null;
        for (int i = 0; i < args.length && command == null; i++) {
            switch (args[i]) {
                case "-j" -> jobs = (int) Main.positive("-j (processes at once)", value(args, ++i, "-j", "N"), Integer.MAX_VALUE);
                case "-n" -> {
                    count = (int) Main.positive("-n (times to run CMD)", value(args, ++i, "-n", "COUNT"), Integer.MAX_VALUE);
                    countGiven = true;
                }
                case "-q" -> quiet = true;
                case "--" -> {
                    command = List.of(Arrays.copyOfRange(args, i + 1, args.length));
                    if (command.isEmpty()) throw new Main.UsageException("missing command after --");
                }
                default -> throw new Main.UsageException(args[i].startsWith("-")
                        ? "unknown option '" + args[i] + "' (options: -j N, -n COUNT, -q, -h)"
                        : "unexpected argument '" + args[i] + "': the command to run goes after -- (fdkit run -- " + args[i] + " ...)");
            }
        }
        List<List<String>> commands;
        if (command != null) {
            commands = Collections.nCopies(count, command); // one element, however large COUNT is
        } else {
            if (countGiven) {
                throw new Main.UsageException("-n repeats the command given after --; commands read from stdin run once "
                        + "each (repeat a line to run it more often)");
            }
            commands = readCommands(in, err);
        }
        return runAll(commands, jobs, quiet, out, err);
    }

    private static String value(String[] args, int i, String option, String name) {
        if (i >= args.length) throw new Main.UsageException(option + " needs a value: " + option + " " + name);
        return args[i];
    }

    private static List<List<String>> readCommands(InputStream in, PrintStream err) throws IOException {
        Console console = System.console();
        if (in == System.in && console != null && console.isTerminal()) {
            err.println("fdkit run: reading commands from the terminal, one per line; end with Ctrl-D "
                    + "(or give a command after --, see fdkit run --help)");
        }
        List<List<String>> commands = new ArrayList<>();
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        for (String line; (line = reader.readLine()) != null; ) {
            if (!line.isBlank()) commands.add(List.of("/bin/sh", "-c", line));
        }
        return commands;
    }

    private static int runAll(List<List<String>> commands, int jobs, boolean quiet, PrintStream out, PrintStream err)
            throws InterruptedException {
        long start = System.nanoTime();
        JvmThreads jvmThreads = JvmThreads.start();
        Semaphore slots = new Semaphore(jobs);
        CountDownLatch finished = new CountDownLatch(commands.size());
        AtomicInteger done = new AtomicInteger();
        AtomicInteger running = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicLong cpuNanos = new AtomicLong();
        for (int n = 0; n < commands.size(); n++) {
            List<String> command = commands.get(n);
            int index = n + 1;
            slots.acquire();
            ProcessDescriptor process;
            try {
                process = ProcessDescriptor.start(new ProcessBuilder(command).inheritIO());
                running.incrementAndGet();
            } catch (IOException | RuntimeException e) {
                synchronized (out) {
                    out.printf("#%d failed to start: %s: %s%n", index, e.getMessage(), String.join(" ", command));
                }
                failed.incrementAndGet();
                done.incrementAndGet();
                finished.countDown();
                slots.release();
                continue;
            }
            process.onExit().whenComplete((status, error) -> {
                try {
                    process.close();
                    if (status == null || !status.success()) failed.incrementAndGet();
                    if (status != null) status.resourceUsage().ifPresent(u -> cpuNanos.addAndGet(u.cpuTime().toNanos()));
                    int completed = done.incrementAndGet();
                    int stillRunning = running.decrementAndGet();
                    if (!quiet || status == null) {
                        synchronized (out) {
                            if (status != null) {
                                out.printf("#%d pid %d %s%s: %s%n", index, process.pid(), status, cpu(status), String.join(" ", command));
                            } else {
                                out.printf("#%d pid %d: exit status unknown (%s): %s%n", index, process.pid(), Main.describe(error), String.join(" ", command));
                            }
                        }
                    }
                    if (!quiet) err.printf("[%d/%d done, %d running]%n", completed, commands.size(), stillRunning);
                } finally {
                    slots.release();
                    finished.countDown();
                }
            });
        }
        finished.await();
        Duration wall = Duration.ofNanos(System.nanoTime() - start);
        List<String> fdkitThreads = Thread.getAllStackTraces().keySet().stream()
                .map(Thread::getName).filter(name -> name.startsWith("fdkit-")).sorted().toList();
        out.printf("%d processes, %d failed, wall %.3f s, CPU %.3f s (children's user+system from rusage), "
                        + "threads: %d fdkit%s; %s%s%n",
                commands.size(), failed.get(), wall.toNanos() / 1e9, cpuNanos.get() / 1e9,
                fdkitThreads.size(), fdkitThreads.isEmpty() ? "" : " (" + String.join(", ", fdkitThreads) + ")", jvmThreads.report(), osThreads());
        return failed.get() == 0 ? Main.OK : Main.FAILED;
    }

    private static String cpu(ExitStatus status) {
        return status.resourceUsage().map(ResourceUsage::cpuTime).map(d -> String.format(" (cpu %.3f s)", d.toNanos() / 1e9)).orElse("");
    }

    /**
     * The JVM's live platform threads, all thread groups, with their peak over the run from ThreadMXBean
     * (java.management, an optional dependency of the module: without it, only the live count at the end).
     */
    private record JvmThreads(ThreadMXBean bean) {
        static JvmThreads start() {
            if (ModuleLayer.boot().findModule("java.management").isEmpty()) return new JvmThreads(null);
            ThreadMXBean bean = ManagementFactory.getThreadMXBean();
            bean.resetPeakThreadCount(); // the peak from now on, not since JVM start-up
            return new JvmThreads(bean);
        }

        String report() {
            if (bean == null) return "JVM platform threads " + Thread.getAllStackTraces().size() + " at the end";
            return "JVM platform threads " + bean.getThreadCount() + " at the end, " + bean.getPeakThreadCount() + " at the peak";
        }
    }

    /** "; N OS threads in the process" (GC and JIT threads included) from /proc/self/status, or "" if unreadable. */
    private static String osThreads() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Threads:")) return "; " + line.substring("Threads:".length()).trim() + " OS threads in the JVM process";
            }
        } catch (IOException | RuntimeException e) {
            // not Linux /proc: leave it out
        }
        return "";
    }
}
