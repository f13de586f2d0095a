package dev.fdkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/** Helpers for the real-process tests: /proc scans, stream draining, bounded waits. */
public final class Processes {
    /**
     * Looks at {@code condition} until it holds, for at most {@code limit}; false if it never did. For state that
     * offers nothing to wait on — /proc files, another JVM's output, a queue filled on the poller thread — so the
     * test synchronises on that state itself. The pause between looks (1 ms) only leaves the CPU to what is being
     * waited for: no outcome depends on how long it is.
     */
    public static boolean awaitCondition(Duration limit, java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) return false;
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
        return true;
    }

    private Processes() {}

    /**
     * Waits (at most 10 s) until {@code pid} sleeps in the kernel writing to a full pipe (/proc/PID/wchan: pipe_write, or
     * anon_pipe_write on newer kernels): its output is waiting to be read, and it writes no more until someone reads.
     */
    static boolean awaitBlockedWritingPipe(long pid) {
        return awaitCondition(Duration.ofSeconds(10), () -> {
            try {
                return Files.readString(Path.of("/proc/" + pid + "/wchan")).contains("pipe_write");
            } catch (IOException gone) {
                return false;
            }
        });
    }

    /** Waits (at most 10 s) until {@code thread} is parked (WAITING or TIMED_WAITING), as a blocked fdkit call is. */
    static void awaitParked(Thread thread) {
        awaitThread(thread, "park", () -> isParked(thread));
    }

    /**
     * Waits (at most 10 s) until {@code thread} is blocked: parked, in a JNI call such as the JDK's read(2), or in one
     * of fdkit's FFM downcalls — RUNNABLE then, with no native frame on its stack, so a dev.fdkit.internal.Syscalls
     * frame is what tells.
     */
    static void awaitBlocked(Thread thread) {
        awaitThread(thread, "block", () -> {
            if (isParked(thread)) return true;
            StackTraceElement[] stack = thread.getStackTrace();
            return stack.length > 0 && (stack[0].isNativeMethod()
                    || java.util.Arrays.stream(stack).anyMatch(f -> f.getClassName().equals("dev.fdkit.internal.Syscalls")));
        });
    }

    private static boolean isParked(Thread thread) {
        Thread.State state = thread.getState();
        return state == Thread.State.WAITING || state == Thread.State.TIMED_WAITING;
    }

    private static void awaitThread(Thread thread, String verb, java.util.function.BooleanSupplier blocked) {
        if (awaitCondition(Duration.ofSeconds(10), () -> blocked.getAsBoolean() || thread.getState() == Thread.State.TERMINATED)
                && thread.getState() != Thread.State.TERMINATED) return;
        throw new AssertionError(thread + (thread.getState() == Thread.State.TERMINATED ? " ended instead of blocking" : " did not " + verb + "; state " + thread.getState()));
    }

    static final int SIGHUP = 1;
    static final int SIGINT = 2;
    static final int SIGKILL = 9;
    static final int SIGTERM = 15;
    static final int SIGCONT = 18;
    static final int SIGSTOP = 19;

    static final long OUR_PID = ProcessHandle.current().pid();

    /** One line of /proc/PID/stat, split after the "(comm)" field: index 0 is field 3 (state). */
    record Stat(long pid, char state, long ppid, long pgrp, long session) {}

    /** /proc/PID/stat of a process, or null if it does not exist (any more). */
    static Stat stat(long pid) {
        String text;
        try {
            text = Files.readString(Path.of("/proc/" + pid + "/stat"));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return null; // raced with its exit
        }
        String[] f = text.substring(text.lastIndexOf(')') + 2).split(" ");
        return new Stat(pid, f[0].charAt(0), Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]));
    }

    /** Our children in state Z: exited but not reaped. */
    static List<Long> zombieChildren() {
        List<Long> zombies = new ArrayList<>();
        try (DirectoryStream<Path> proc = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : proc) {
                Stat s = stat(Long.parseLong(p.getFileName().toString()));
                if (s != null && s.state() == 'Z' && s.ppid() == OUR_PID) zombies.add(s.pid());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return zombies;
    }

    /** Live (not zombie) processes in process group {@code pgid}, by pid. */
    static List<Long> groupMembers(long pgid) {
        List<Long> members = new ArrayList<>();
        try (DirectoryStream<Path> proc = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : proc) {
                Stat s = stat(Long.parseLong(p.getFileName().toString()));
                if (s != null && s.pgrp() == pgid && s.state() != 'Z') members.add(s.pid());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        members.sort(null);
        return members;
    }

    /** Waits (at most 10 s) until {@code pid} is gone or a zombie; false if it is still running then. */
    static boolean awaitGone(long pid) throws InterruptedException {
        return awaitCondition(Duration.ofSeconds(10), () -> {
            Stat s = stat(pid);
            return s == null || s.state() == 'Z';
        });
    }

    /** The thread id of this JVM's Reference Handler: a thread, not the main one, that lives as long as the JVM. */
    static long referenceHandlerTid() throws IOException {
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                if (Files.readString(task.resolve("comm")).strip().equals("Reference Handl")) return Long.parseLong(task.getFileName().toString());
            }
        }
        throw new AssertionError("no Reference Handler thread in /proc/self/task");
    }

    /** Our children (any state), by pid. */
    static List<Long> children() {
        List<Long> children = new ArrayList<>();
        try (DirectoryStream<Path> proc = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : proc) {
                Stat s = stat(Long.parseLong(p.getFileName().toString()));
                if (s != null && s.ppid() == OUR_PID) children.add(s.pid());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        children.sort(null);
        return children;
    }

    /** The lowest {@code count} descriptor numbers that are free now: the next opens will get them, in order. */
    static List<Integer> freeDescriptorNumbers(int count) {
        java.util.Set<Integer> used = new java.util.HashSet<>();
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            fds.forEach(entries::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (Path entry : entries) {
            if (Files.exists(entry, java.nio.file.LinkOption.NOFOLLOW_LINKS)) used.add(Integer.parseInt(entry.getFileName().toString()));
        }
        List<Integer> free = new ArrayList<>();
        for (int n = 0; free.size() < count; n++) if (!used.contains(n)) free.add(n);
        return free;
    }

    /**
     * Our zombie children, waiting up to {@code grace} for them to disappear: the JDK's own process reaper
     * (for java.lang.Process children used as non-children here) reaps asynchronously.
     */
    static List<Long> zombieChildrenAfter(Duration grace) throws InterruptedException {
        awaitCondition(grace, () -> zombieChildren().isEmpty());
        return zombieChildren();
    }

    /** Open descriptors of this JVM (jar files left out, as LeakGuard counts them). */
    static int fdCount() {
        return LeakGuard.openDescriptorCount();
    }

    /** The descriptor count once it has settled back to {@code expected}, or whatever it is after 2 s. */
    static int fdCountSettlingTo(int expected) throws InterruptedException {
        awaitCondition(Duration.ofSeconds(2), () -> fdCount() == expected);
        return fdCount();
    }

    static String readAll(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    /** The value of a future, failing the test (not hanging it) after {@code seconds}. */
    static <T> T await(CompletableFuture<T> future, long seconds) throws InterruptedException, ExecutionException {
        try {
            return future.get(seconds, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("not completed within " + seconds + " s: " + future, e);
        }
    }

    /** A pid that no process has now: counting down from pid_max, the first without a /proc entry. */
    static long unusedPid() throws IOException {
        // not Files.readString: integer sysctls answer EOF to a read at offset > 0, and it may read 1 byte first
        long max = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).getFirst().trim());
        for (long pid = max - 1; pid > 1; pid--) {
            if (!Files.exists(Path.of("/proc/" + pid))) return pid;
        }
        throw new IllegalStateException("no free pid");
    }
}
