package dev.fdkit.cli;

import dev.fdkit.ExitStatus;
import dev.fdkit.Feature;
import dev.fdkit.Linux;
import dev.fdkit.ProcessDescriptor;
import dev.fdkit.ResourceUsage;
import dev.fdkit.SpawnOption;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * The processes of one {@code fdkit run}: at most {@code jobs} at once, each in a process group of its own,
 * every exit noticed by the poller thread.
 * <p>
 * A {@link #stop} (fdkit got SIGTERM, SIGINT or SIGHUP) ends the run early. Only the thread that starts the
 * commands acts on it, so no command starts unsignalled: it starts no more commands, sends the signal to the
 * group of every running command (the whole tree a shell command started), waits at most the grace period
 * for them to exit, then sends SIGKILL to those groups and waits for the children to be reaped. A second
 * signal of the same kind sends SIGKILL at once; other kinds are ignored. Processes a command leaves in its
 * group when it exits (a shell's background job ignoring SIGINT) also get the rest of the grace period, then
 * SIGKILL: on Linux 6.9+, where a pidfd reaches the group of a reaped leader ({@link GroupRemnants}).
 * <p>
 * Each line is formatted first and printed whole: stdout and stderr often share a terminal or a file, and
 * printf writes a line piece by piece, so lines printed by two threads to the two streams got mixed.
 */
final class Batch {
    /** After SIGKILL: how long to wait for the kernel to end and the poller to reap (a process in D state may take long). */
    private static final Duration KILL_WAIT = Duration.ofSeconds(5);

    /** What the run did, for the totals line; {@code stoppedBy} is null unless a stop signal ended it. */
    record Totals(int processes, int started, int failed, Duration cpu, Duration wall,
                  String stoppedBy, int stopSignal, int killed, boolean escalated, int unreaped) {}

    private final List<List<String>> commands;
    private final int jobs;
    private final boolean quiet;
    private final Duration grace;
    private final PrintStream out;
    private final PrintStream err;

    private final Object lock = new Object();
    // Guarded by lock.
    private final Set<ProcessDescriptor> running = new HashSet<>();
    /** The commands sent the stop signal: kept open to the end, their groups may outlive them. */
    private final Set<ProcessDescriptor> signalled = new HashSet<>();
    private int started;
    private int done;
    private int failed;
    private long cpuNanos;
    private int stopSignal;
    private String stopName;
    private boolean escalated;

    Batch(List<List<String>> commands, int jobs, boolean quiet, Duration grace, PrintStream out, PrintStream err) {
        this.commands = commands;
        this.jobs = jobs;
        this.quiet = quiet;
        this.grace = grace;
        this.out = out;
        this.err = err;
    }

    /** A stop signal arrived (from a signal handler's thread). */
    void stop(int signal, String name) {
        synchronized (lock) {
            if (stopSignal == 0) {
                stopSignal = signal;
                stopName = name;
            } else if (signal == stopSignal) {
                escalated = true;
            }
            lock.notifyAll();
        }
    }

    Totals run() throws InterruptedException {
        long start = System.nanoTime();
        for (int n = 0; n < commands.size() && awaitSlot(); n++) start(n + 1, commands.get(n));
        int signal;
        String name;
        List<ProcessDescriptor> targets;
        synchronized (lock) {
            while (!running.isEmpty() && stopSignal == 0) lock.wait();
            signal = stopSignal; // a signal after this point finds the run over: it stays a normal end
            name = stopName;
            signalled.addAll(running); // empty unless stopping
            targets = List.copyOf(signalled);
        }
        int killed = signal == 0 ? 0 : stopAll(targets, signal, name);
        synchronized (lock) {
            return new Totals(commands.size(), started, failed, Duration.ofNanos(cpuNanos), Duration.ofNanos(System.nanoTime() - start),
                    name, signal, killed, escalated, running.size());
        }
    }

    /** Waits until fewer than {@code jobs} run; false if a stop came first. */
    private boolean awaitSlot() throws InterruptedException {
        synchronized (lock) {
            while (running.size() >= jobs && stopSignal == 0) lock.wait();
            return stopSignal == 0;
        }
    }

    private void start(int index, List<String> command) {
        ProcessDescriptor process;
        try {
            process = ProcessDescriptor.start(new ProcessBuilder(command).inheritIO(), SpawnOption.NEW_PROCESS_GROUP);
        } catch (IOException | RuntimeException e) {
            synchronized (out) {
                out.print(String.format("#%d failed to start: %s: %s%n", index, e.getMessage(), String.join(" ", command)));
            }
            synchronized (lock) {
                started++;
                done++;
                failed++;
            }
            return;
        }
        synchronized (lock) {
            started++;
            running.add(process);
        }
        process.onExit().whenComplete((status, error) -> exited(index, command, process, status, error));
    }

    /** On the poller thread: count, report, then free the slot (so the totals come after every status line). */
    private void exited(int index, List<String> command, ProcessDescriptor process, ExitStatus status, Throwable error) {
        int completed;
        int stillRunning;
        synchronized (lock) {
            if (status == null || !status.success()) failed++;
            if (status != null) cpuNanos += status.resourceUsage().map(u -> u.cpuTime().toNanos()).orElse(0L);
            completed = ++done;
            stillRunning = running.size() - 1;
        }
        try {
            if (!quiet || status == null) {
                synchronized (out) {
                    if (status != null) {
                        out.print(String.format("#%d pid %d %s%s: %s%n", index, process.pid(), status, cpu(status), String.join(" ", command)));
                    } else {
                        out.print(String.format("#%d pid %d: exit status unknown (%s): %s%n", index, process.pid(), Main.describe(error), String.join(" ", command)));
                    }
                }
            }
            if (!quiet) err.print(String.format("[%d/%d done, %d running]%n", completed, commands.size(), stillRunning));
        } finally {
            boolean keepOpen;
            synchronized (lock) {
                running.remove(process);
                keepOpen = signalled.contains(process); // only running ones join it: now decided for good
                lock.notifyAll();
            }
            if (!keepOpen) process.close();
        }
    }

    private static String cpu(ExitStatus status) {
        return status.resourceUsage().map(ResourceUsage::cpuTime).map(d -> String.format(" (cpu %.3f s)", d.toNanos() / 1e9)).orElse("");
    }

    /** The stop: signal, grace period, SIGKILL. Returns how many commands' groups SIGKILL reached. */
    private int stopAll(List<ProcessDescriptor> targets, int signal, String name) throws InterruptedException {
        signalGroups(targets, p -> p.signalProcessGroup(signal));
        err.print(String.format("fdkit run: %s: sent it to the process groups of the %d running commands, starting no more; "
                + "SIGKILL for what is left after %.3f s, or at once on a second %s%n", name, targets.size(), grace.toNanos() / 1e9, name));
        long graceEnd = System.nanoTime() + grace.toNanos();
        int killed = 0;
        if (!(await(running::isEmpty, graceEnd, true) && awaitGroupsEmpty(targets, graceEnd))) {
            killed = signalGroups(targets, ProcessDescriptor::killProcessGroup);
            await(running::isEmpty, System.nanoTime() + KILL_WAIT.toNanos(), false);
        }
        targets.forEach(ProcessDescriptor::close);
        return killed;
    }

    /**
     * Once the commands have exited: waits, within the grace period, until nothing they left in their groups is
     * alive. False if something is at its end (or at a second signal). Only on kernels where SIGKILL can still reach
     * the group of an exited leader (Linux 6.9+): elsewhere waiting would be for nothing.
     */
    private boolean awaitGroupsEmpty(List<ProcessDescriptor> targets, long graceEnd) throws InterruptedException {
        if (!Linux.has(Feature.PIDFD_SIGNAL_PROCESS_GROUP)) return true;
        Set<Long> groups = new HashSet<>();
        for (ProcessDescriptor p : targets) groups.add(p.pid()); // each leads the group of its own pid
        for (;;) { // look again once those seen have exited: they may have started others
            try (GroupRemnants remnants = GroupRemnants.watch(groups, this::wake)) {
                if (remnants.isEmpty()) return true;
                if (!await(remnants::allExited, graceEnd, true)) return false;
            } catch (IOException | RuntimeException e) { // cannot look (/proc): SIGKILL the groups rather than leave them
                err.print(String.format("fdkit run: cannot look for processes left in the commands' groups: %s%n", Main.describe(e)));
                return false;
            }
        }
    }

    private void wake() {
        synchronized (lock) {
            lock.notifyAll();
        }
    }

    /** Signals each target's group with {@code send}; returns how many groups it reached. */
    private int signalGroups(List<ProcessDescriptor> targets, Predicate<ProcessDescriptor> send) {
        int reached = 0;
        for (ProcessDescriptor p : targets) {
            try {
                if (send.test(p)) reached++;
            } catch (RuntimeException e) { // one failure must not keep the others from being stopped
                err.print(String.format("fdkit run: cannot signal the process group of pid %d: %s%n", p.pid(), Main.describe(e)));
            }
        }
        return reached;
    }

    /**
     * Waits until {@code done} holds (checked under the lock; every exit notifies), the deadline passes, or, if
     * {@code untilEscalated}, a second signal of the stop's kind arrives. Returns whether {@code done} holds and,
     * if {@code untilEscalated}, no second signal came.
     */
    private boolean await(BooleanSupplier done, long deadline, boolean untilEscalated) throws InterruptedException {
        synchronized (lock) {
            for (long left; !done.getAsBoolean() && !(untilEscalated && escalated) && (left = deadline - System.nanoTime()) > 0; ) {
                TimeUnit.NANOSECONDS.timedWait(lock, left);
            }
            return done.getAsBoolean() && !(untilEscalated && escalated);
        }
    }
}
