package dev.fdkit.cli;

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

/**
 * {@code fdkit run}: many processes, at most N at once, every exit noticed by the one poller thread.
 * Children inherit stdin/stdout/stderr; fdkit's own report goes to stderr (progress) and stdout (statuses).
 */
final class RunCommand {
    private RunCommand() {}

    /** From a stop signal to SIGKILL, unless -k says otherwise. */
    private static final Duration DEFAULT_GRACE = Duration.ofSeconds(5);
    private static final long MAX_GRACE_SECONDS = 3600;

    static final String USAGE = """
            usage: fdkit run [-j N] [-n COUNT] [-k SECONDS] [-q] -- CMD [ARGS...]
                   fdkit run [-j N] [-k SECONDS] [-q] < FILE

            Runs processes at most N at once; one poller thread notices every exit. With -- it runs CMD
            COUNT times. Without --, each non-blank line of stdin is a /bin/sh -c command, run once.
            Children inherit fdkit's stdin, stdout and stderr. fdkit prints each exit status to stdout and
            its progress to stderr, then one line of totals to stdout: processes, failures, wall time, the
            children's CPU time (user+system from rusage), fdkit's own threads (named fdkit-*), the JVM's
            platform threads at the end and at their peak during the run, and the OS threads of the JVM
            process (GC and JIT compiler threads included).

            Each process runs in a process group of its own, so that a signal reaches every process it
            starts (a shell command's pipeline and background jobs). Like a background job, a process that
            reads from the terminal is stopped there (SIGTTIN): give it its input another way.

            Stopping: on SIGTERM, SIGINT (Ctrl-C) or SIGHUP, fdkit starts no more commands and sends that
            signal to the process group of each running one. Groups with a process left after the grace
            period (-k) get SIGKILL, at once on a second signal of the same kind (other kinds are then
            ignored). Once its children are reaped fdkit prints the totals, ending "interrupted by SIGTERM:
            S started, N not started", and exits with status 128 + the signal's number.

            options:
              -j N        run at most N processes at once (default: the number of CPUs)
              -n COUNT    run CMD COUNT times (default 1). Only with --: commands read from stdin run
                          once each (repeat a line to run it more often)
              -k SECONDS  grace period from a stop signal to SIGKILL (default 5; decimals allowed, 0: at once)
              -q          quiet: print only the totals
              -h, --help  print this help

            exit status:
              0      every process exited with status 0
              1      some process failed: exited nonzero, was killed by a signal, or could not be started
              2      bad arguments
              128+N  stopped by signal N: 129 SIGHUP, 130 SIGINT, 143 SIGTERM
            """;

    static int run(String[] args, InputStream in, PrintStream out, PrintStream err, boolean catchSignals)
            throws IOException, InterruptedException {
        int jobs = Runtime.getRuntime().availableProcessors();
        Duration grace = DEFAULT_GRACE;
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
                case "-k" -> grace = Main.seconds("-k (grace period before SIGKILL)", value(args, ++i, "-k", "SECONDS"), MAX_GRACE_SECONDS);
                case "--" -> {
                    command = List.of(Arrays.copyOfRange(args, i + 1, args.length));
                    if (command.isEmpty()) throw new Main.UsageException("missing command after --");
                }
                default -> throw new Main.UsageException(args[i].startsWith("-")
                        ? "unknown option '" + args[i] + "' (options: -j N, -n COUNT, -k SECONDS, -q, -h)"
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
        return runAll(commands, jobs, quiet, grace, catchSignals, out, err);
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

    private static int runAll(List<List<String>> commands, int jobs, boolean quiet, Duration grace, boolean catchSignals,
                              PrintStream out, PrintStream err) throws InterruptedException {
        JvmThreads jvmThreads = JvmThreads.start();
        Batch batch = new Batch(commands, jobs, quiet, grace, out, err);
        // From the first command until the totals are out: the JVM's own handling would exit before printing them.
        StopSignals signals = catchSignals ? StopSignals.install(batch::stop, err) : null;
        try {
            return report(batch.run(), grace, jvmThreads, out);
        } finally {
            if (signals != null) signals.close();
        }
    }

    /** Prints the totals line; returns the exit status. */
    private static int report(Batch.Totals t, Duration grace, JvmThreads jvmThreads, PrintStream out) {
        List<String> fdkitThreads = Thread.getAllStackTraces().keySet().stream()
                .map(Thread::getName).filter(name -> name.startsWith("fdkit-")).sorted().toList();
        out.print(String.format("%d processes, %d failed, wall %.3f s, CPU %.3f s (children's user+system from rusage), "
                        + "threads: %d fdkit%s; %s%s%s%n",
                t.processes(), t.failed(), t.wall().toNanos() / 1e9, t.cpu().toNanos() / 1e9,
                fdkitThreads.size(), fdkitThreads.isEmpty() ? "" : " (" + String.join(", ", fdkitThreads) + ")", jvmThreads.report(), osThreads(),
                interruption(t, grace)));
        out.flush();
        if (t.stoppedBy() != null) return 128 + t.stopSignal();
        return t.failed() == 0 ? Main.OK : Main.FAILED;
    }

    /** The end of the totals line after a stop signal: "; interrupted by SIGTERM: 2 started, 8 not started...". */
    private static String interruption(Batch.Totals t, Duration grace) {
        if (t.stoppedBy() == null) return "";
        return String.format("; interrupted by %s: %d started, %d not started%s%s", t.stoppedBy(), t.started(), t.processes() - t.started(),
                t.killed() == 0 ? "" : String.format(", SIGKILL sent to the groups of %d %s", t.killed(),
                        t.escalated() ? "at a second " + t.stoppedBy() : String.format("after %.3f s", grace.toNanos() / 1e9)),
                t.unreaped() == 0 ? "" : ", " + t.unreaped() + " still running after SIGKILL");
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
