package dev.fdkit.internal.cli;

import dev.fdkit.ExitStatus;
import dev.fdkit.ProcessDescriptor;
import dev.fdkit.ResourceUsage;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
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

    static int run(String[] args, PrintStream out, PrintStream err) throws IOException, InterruptedException {
        int jobs = Runtime.getRuntime().availableProcessors();
        int count = 1;
        boolean quiet = false;
        List<List<String>> commands = new ArrayList<>();
        int i = 0;
        for (; i < args.length; i++) {
            switch (args[i]) {
                case "-j" -> jobs = positive(args, ++i, "-j");
                case "-n" -> count = positive(args, ++i, "-n");
                case "-q" -> quiet = true;
                case "--" -> {
                    List<String> command = List.of(Arrays.copyOfRange(args, i + 1, args.length));
                    if (command.isEmpty()) throw new Main.UsageException("missing command after --");
                    for (int k = 0; k < count; k++) commands.add(command);
                    i = args.length;
                }
                default -> throw new Main.UsageException("unknown option '" + args[i] + "' (commands follow --)");
            }
        }
        if (commands.isEmpty()) {
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                if (!line.isBlank()) commands.add(List.of("/bin/sh", "-c", line));
            }
        }
        return runAll(commands, jobs, quiet, out, err);
    }

    private static int runAll(List<List<String>> commands, int jobs, boolean quiet, PrintStream out, PrintStream err)
            throws InterruptedException {
        long start = System.nanoTime();
        Semaphore slots = new Semaphore(jobs);
        CountDownLatch finished = new CountDownLatch(commands.size());
        AtomicInteger done = new AtomicInteger();
        AtomicInteger running = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicLong cpuNanos = new AtomicLong();
        AtomicInteger peakThreads = new AtomicInteger(Thread.activeCount());
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
                    out.printf("#%d failed to start: %s%n", index, e.getMessage());
                }
                failed.incrementAndGet();
                done.incrementAndGet();
                finished.countDown();
                slots.release();
                continue;
            }
            process.onExit().whenComplete((status, error) -> {
                process.close();
                if (status == null || !status.success()) failed.incrementAndGet();
                status.resourceUsage().ifPresent(u -> cpuNanos.addAndGet(u.cpuTime().toNanos()));
                peakThreads.accumulateAndGet(Thread.activeCount(), Math::max);
                int completed = done.incrementAndGet();
                int stillRunning = running.decrementAndGet();
                if (!quiet) {
                    synchronized (out) {
                        out.printf("#%d pid %d %s%s: %s%n", index, process.pid(), status, cpu(status), String.join(" ", command));
                    }
                    err.printf("[%d/%d done, %d running]%n", completed, commands.size(), stillRunning);
                }
                slots.release();
                finished.countDown();
            });
        }
        finished.await();
        Duration wall = Duration.ofNanos(System.nanoTime() - start);
        long fdkitThreads = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("fdkit-")).count();
        out.printf("%d processes, %d failed, wall %.3f s, CPU %.3f s (user+system from rusage), threads: %d fdkit, %d JVM peak%n",
                commands.size(), failed.get(), wall.toNanos() / 1e9, cpuNanos.get() / 1e9, fdkitThreads, peakThreads.get());
        return failed.get() == 0 ? 0 : 1;
    }

    private static String cpu(ExitStatus status) {
        return status.resourceUsage().map(ResourceUsage::cpuTime).map(d -> String.format(" (cpu %.3f s)", d.toNanos() / 1e9)).orElse("");
    }

    private static int positive(String[] args, int i, String option) {
        if (i >= args.length) throw new Main.UsageException(option + " needs a number");
        try {
            int value = Integer.parseInt(args[i]);
            if (value > 0) return value;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new Main.UsageException(option + " needs a positive number, was '" + args[i] + "'");
    }
}
