package dev.fdkit.examples;

import dev.fdkit.ExitStatus;
import dev.fdkit.ProcessDescriptor;
import dev.fdkit.ProcessSet;
import dev.fdkit.SpawnOption;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Example: a supervisor that keeps shell commands running, on one {@link ProcessSet} and one thread.
 * <ul>
 * <li>Each command runs as {@code /bin/sh -c command}, leading a process group of its own, with the
 *     supervisor's stdin, stdout and stderr.</li>
 * <li>A child that crashes (exits non-zero, or is killed by a signal) is started again after a back-off that
 *     doubles with each crash in a row, from {@code initialDelay} up to {@code maxDelay}. A child that ran for
 *     at least {@code maxDelay} before crashing starts the count afresh. A child that exits 0 is done.</li>
 * <li>The one thread parks in {@link ProcessSet#awaitAny} until the next exit or the next restart that is
 *     due: no thread per child, no polling, no SIGCHLD handler.</li>
 * <li>{@link #close()} stops restarting, kills every child's process group with SIGKILL and reaps the
 *     children ({@link ProcessSet#closeAndKill()}): nothing is left running, no zombie, no descriptor.</li>
 * </ul>
 * Try it: {@code java -cp fdkit.jar:. dev.fdkit.examples.Supervisor 'sleep 1; exit 1' 'sleep 600'}, then Ctrl-C.
 */
public final class Supervisor implements AutoCloseable {
    /**
     * One restart that the supervisor decided on.
     *
     * @param child   the index of the command
     * @param status  how its last run ended
     * @param delay   how long after that exit it is started again
     */
    public record Restart(int child, ExitStatus status, Duration delay) {}

    private static final long NOT_DUE = Long.MAX_VALUE;

    private final List<String> commands;
    private final Duration initialDelay;
    private final Duration maxDelay;
    private final ProcessSet set = ProcessSet.open();
    private final Thread loop;
    private final AtomicLongArray pids; // 0 while a child is not running; read by other threads
    private final List<Restart> restarts = new CopyOnWriteArrayList<>();
    private volatile boolean stopping;

    // Touched by the loop thread only.
    private final Map<ProcessDescriptor, Integer> running = new HashMap<>();
    private final long[] startedAt; // System.nanoTime() of each child's last start
    private final long[] dueAt; // when each child is to be started again; NOT_DUE while it runs or is done
    private final int[] crashes; // crashes in a row, for the back-off

    private Supervisor(List<String> commands, Duration initialDelay, Duration maxDelay) {
        this.commands = List.copyOf(commands);
        this.initialDelay = initialDelay;
        this.maxDelay = maxDelay;
        int n = this.commands.size();
        pids = new AtomicLongArray(n);
        startedAt = new long[n];
        dueAt = new long[n];
        crashes = new int[n];
        loop = Thread.ofPlatform().name("supervisor").unstarted(this::run);
    }

    /**
     * Starts every command and supervises them until {@link #close()}.
     *
     * @param commands     shell commands, one child each
     * @param initialDelay the back-off after a first crash; positive
     * @param maxDelay     the back-off's cap; at least {@code initialDelay}
     * @return the running supervisor
     */
    public static Supervisor start(List<String> commands, Duration initialDelay, Duration maxDelay) {
        Objects.requireNonNull(commands, "commands");
        if (commands.isEmpty()) throw new IllegalArgumentException("commands must not be empty");
        if (initialDelay.isNegative() || initialDelay.isZero()) throw new IllegalArgumentException("initialDelay must be positive, was " + initialDelay);
        if (maxDelay.compareTo(initialDelay) < 0) throw new IllegalArgumentException("maxDelay must be at least initialDelay, was " + maxDelay);
        Supervisor supervisor = new Supervisor(commands, initialDelay, maxDelay);
        supervisor.loop.start();
        return supervisor;
    }

    /**
     * The back-off after {@code crashesInARow} crashes: initialDelay doubled for each crash after the first, capped.
     *
     * @param crashesInARow 1 or more
     * @return how long to wait before the next start
     */
    public Duration delayAfter(int crashesInARow) {
        Duration delay = initialDelay;
        for (int i = 1; i < crashesInARow && delay.compareTo(maxDelay) < 0; i++) delay = delay.multipliedBy(2);
        return delay.compareTo(maxDelay) < 0 ? delay : maxDelay;
    }

    /**
     * The pid of child {@code child}'s current run.
     *
     * @param child the index of the command
     * @return empty while it waits for a restart, or is done
     */
    public Optional<Long> pid(int child) {
        long pid = pids.get(child);
        return pid == 0 ? Optional.empty() : Optional.of(pid);
    }

    /**
     * The restarts so far, oldest first.
     *
     * @return a snapshot
     */
    public List<Restart> restarts() {
        return List.copyOf(restarts);
    }

    /** Stops supervising: kills every child's process group, reaps the children, ends the supervisor's thread. */
    @Override
    public void close() {
        stopping = true;
        set.closeAndKill(); // wakes the loop: awaitAny returns empty once the set is closed
        boolean interrupted = false;
        for (;;) { // the loop ends promptly now; an interrupt must not leave it running unseen
            try {
                loop.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private void run() {
        long now = System.nanoTime();
        for (int i = 0; i < commands.size(); i++) launch(i, now);
        while (!stopping) {
            now = System.nanoTime();
            long next = NOT_DUE;
            for (int i = 0; i < dueAt.length; i++) {
                if (dueAt[i] - now <= 0) launch(i, now);
                else next = Math.min(next, dueAt[i]);
            }
            Optional<ProcessSet.ExitEvent> exit;
            try {
                exit = set.awaitAny(next == NOT_DUE ? Duration.ofDays(365) : Duration.ofNanos(next - now));
            } catch (InterruptedException e) {
                return; // only close() may stop it; nobody else holds this thread
            }
            exit.ifPresent(this::exited);
        }
        // Every descriptor still in `running` is a member: closeAndKill() closed it.
    }

    /** Starts child {@code i}; a start that fails counts as a crash. */
    private void launch(int i, long now) {
        dueAt[i] = NOT_DUE;
        startedAt[i] = now;
        try {
            ProcessDescriptor child = set.start(new ProcessBuilder("/bin/sh", "-c", commands.get(i)).inheritIO(), SpawnOption.NEW_PROCESS_GROUP);
            running.put(child, i);
            pids.set(i, child.pid());
        } catch (IllegalStateException closed) {
            // close() ran meanwhile: the set killed and reaped what it started
        } catch (IOException e) {
            crashed(i, now, ExitStatus.unknown("could not start: " + e.getMessage()));
        }
    }

    private void exited(ProcessSet.ExitEvent event) {
        try (ProcessDescriptor child = event.process()) {
            int i = running.remove(child);
            pids.set(i, 0);
            ExitStatus status = event.status();
            if (status.kind() == ExitStatus.Kind.EXITED && status.code() == 0) return; // done, not crashed
            crashed(i, System.nanoTime(), status);
        }
    }

    private void crashed(int i, long now, ExitStatus status) {
        if (now - startedAt[i] >= maxDelay.toNanos()) crashes[i] = 0; // it ran long enough: a fresh crash
        Duration delay = delayAfter(++crashes[i]);
        restarts.add(new Restart(i, status, delay));
        dueAt[i] = now + delay.toNanos();
    }

    /**
     * Supervises the commands given as arguments until the JVM is stopped (Ctrl-C).
     *
     * @param args shell commands
     * @throws InterruptedException if interrupted while waiting to be stopped
     */
    public static void main(String[] args) throws InterruptedException {
        Supervisor supervisor = start(List.of(args), Duration.ofMillis(100), Duration.ofSeconds(10));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            supervisor.close();
            System.err.println("supervisor: stopped after " + supervisor.restarts().size() + " restarts");
        }));
        supervisor.loop.join();
    }
}
