package dev.fdkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Observes, through /proc, that a thread of this JVM really sleeps inside a given syscall on a given
 * address, so a test wakes a futex only once its waiter is queued in the kernel (no sleeps, no guessing).
 * <p>
 * /proc/self/task/TID/syscall reads "NR arg1 arg2 ..." while the thread is inside syscall NR; together with
 * state S in /proc/self/task/TID/stat it means the thread sleeps there (for futex: it is queued).
 */
final class KernelThreads {
    private KernelThreads() {}

    /** The kernel thread id of the calling thread. */
    static int currentTid() {
        try {
            Path self = Files.readSymbolicLink(Path.of("/proc/thread-self")); // "PID/task/TID"
            return Integer.parseInt(self.getFileName().toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Any first argument, for {@link #sleepsIn}. */
    static final long ANY = Long.MIN_VALUE;

    /**
     * Whether thread {@code tid} of this process sleeps in syscall {@code number} with first argument
     * {@code arg1} (or any, for {@link #ANY}).
     */
    static boolean sleepsIn(int tid, int number, long arg1) {
        Path task = Path.of("/proc/self/task/" + tid);
        try {
            String[] call = Files.readString(task.resolve("syscall")).trim().split(" ");
            if (call.length < 2 || !call[0].equals(Integer.toString(number))) return false;
            if (arg1 != ANY && Long.parseUnsignedLong(call[1].substring(2), 16) != arg1) return false;
            String stat = Files.readString(task.resolve("stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) == 'S';
        } catch (NoSuchFileException e) {
            return false; // the thread has ended
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits until {@link #sleepsIn} holds, failing after {@code timeout}. */
    static void awaitSleepingIn(int tid, int number, long arg1, Duration timeout) {
        if (!Processes.awaitCondition(timeout, () -> sleepsIn(tid, number, arg1))) {
            throw new AssertionError("thread " + tid + " did not block in syscall " + number + " on 0x" + Long.toHexString(arg1));
        }
    }

    /**
     * Whether a thread of this process named {@code name} (as the kernel keeps it: its first 15 characters) sleeps
     * inside some syscall: for a thread whose Java stack already shows the downcall, that it reached the kernel.
     */
    static boolean namedThreadSleepsInASyscall(String name) {
        String comm = name.length() > 15 ? name.substring(0, 15) : name;
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                try {
                    if (!Files.readString(task.resolve("comm")).strip().equals(comm)) continue;
                    String call = Files.readString(task.resolve("syscall")).trim();
                    if (call.isEmpty() || !Character.isDigit(call.charAt(0))) continue; // "running", or -1 (not in a syscall)
                    String stat = Files.readString(task.resolve("stat"));
                    if (stat.charAt(stat.lastIndexOf(')') + 2) == 'S') return true;
                } catch (NoSuchFileException e) {
                    // that thread has ended
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return false;
    }

    /** A platform thread running one blocking call, with its kernel thread id and its result. */
    static final class Waiter<T> {
        final Thread thread;
        final CompletableFuture<T> result = new CompletableFuture<>();
        private volatile int tid;
        private final CountDownLatch started = new CountDownLatch(1);

        private Waiter(String name, Callable<T> body) {
            thread = Thread.ofPlatform().name(name).unstarted(() -> {
                tid = currentTid();
                started.countDown();
                try {
                    result.complete(body.call());
                } catch (Throwable t) {
                    result.completeExceptionally(t);
                }
            });
        }

        static <T> Waiter<T> start(String name, Callable<T> body) throws InterruptedException {
            Waiter<T> w = new Waiter<>(name, body);
            w.thread.start();
            if (!w.started.await(10, TimeUnit.SECONDS)) throw new AssertionError(name + " did not start");
            return w;
        }

        int tid() {
            return tid;
        }

        /** Waits until this thread sleeps in syscall {@code number} on {@code arg1}. */
        Waiter<T> awaitSleepingIn(int number, long arg1) throws InterruptedException {
            Processes.awaitCondition(Duration.ofSeconds(10), () -> result.isDone() || sleepsIn(tid, number, arg1));
            if (result.isDone()) {
                Throwable failure = result.isCompletedExceptionally() ? result.exceptionNow() : null;
                throw new AssertionError(thread.getName() + " returned instead of blocking in syscall " + number + ": "
                        + (failure != null ? failure : result.resultNow()), failure);
            }
            if (!sleepsIn(tid, number, arg1)) {
                throw new AssertionError(thread.getName() + " did not block in syscall " + number + " on 0x" + Long.toHexString(arg1));
            }
            return this;
        }

        T join(Duration timeout) throws Exception {
            T value = result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            thread.join(timeout.toMillis());
            return value;
        }
    }
}
