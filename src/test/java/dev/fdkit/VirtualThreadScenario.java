package dev.fdkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Not a test: the main class of the child JVMs that VirtualThreadWaitTest and UringFallbackTest start, so
 * that JVM-wide settings (the carrier pool size, {@code -Dfdkit.disable}, read once by the feature probe)
 * apply from the start. Prints {@code key=value} lines for the test to assert on; exits 0 unless a
 * scenario threw.
 * <ul>
 * <li>{@code futex-waiters N}: N virtual threads each await a private futex word (Futex.await, through
 *     Uring.shared() when io_uring is there); once all N waits are in the kernel the words are set and
 *     woken, and every thread must finish.</li>
 * <li>{@code child-waiters N}: N virtual threads each spawn {@code sleep 1} and waitFor() it.</li>
 * <li>{@code fallback}: what Uring and Linux report when io_uring is disabled.</li>
 * </ul>
 */
public final class VirtualThreadScenario {
    private VirtualThreadScenario() {}

    public static void main(String[] args) throws Exception {
        print("carriers", System.getProperty("jdk.virtualThreadScheduler.parallelism", "default") + "/"
                + System.getProperty("jdk.virtualThreadScheduler.maxPoolSize", "default"));
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "futex-waiters" -> futexWaiters(Integer.parseInt(args[++i]));
                case "child-waiters" -> childWaiters(Integer.parseInt(args[++i]));
                case "fallback" -> fallback();
                default -> throw new IllegalArgumentException("unknown scenario " + args[i]);
            }
        }
        print("io_uring.descriptors", ioUringDescriptors().size());
        print("done", "true");
        System.out.flush();
        System.exit(0); // the shared poller's thread is a daemon; nothing else may keep the JVM up
    }

    /** N virtual threads park in Futex.await until their word is set; returns when all have finished. */
    static void futexWaiters(int n) throws InterruptedException {
        MemorySegment words = Arena.ofAuto().allocate(JAVA_INT, n);
        Futex[] futexes = new Futex[n];
        for (int i = 0; i < n; i++) futexes[i] = Futex.privateWord(words, 4L * i);
        AtomicInteger finished = new AtomicInteger();
        AtomicInteger kernelWaits = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        List<Thread> threads = new ArrayList<>(n);

        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Futex f = futexes[i];
            threads.add(Thread.ofVirtual().name("futex-waiter-" + i).start(() -> {
                try {
                    while (f.get() == 0) {
                        if (f.await(0) == Futex.WaitResult.WOKEN) kernelWaits.incrementAndGet();
                    }
                    finished.incrementAndGet();
                } catch (RuntimeException e) {
                    if (failures.getAndIncrement() == 0) e.printStackTrace();
                }
            }));
        }
        // Through io_uring, wait until the kernel has consumed all N FUTEX_WAIT submissions (SqHead in the
        // ring's fdinfo; nothing else uses the shared ring in this JVM): with the words still 0, all N are
        // then queued on their futexes at once, which two carriers could never do if each wait pinned one.
        // Uring.inFlight() is not enough: it counts an operation from before it takes the submission lock.
        // (The blocking fallback has nothing to count.)
        long consumed = -1;
        int inFlightPeak = -1;
        if (Linux.has(Feature.IO_URING_FUTEX)) {
            consumed = awaitKernelConsumed(n, 30_000);
            inFlightPeak = Uring.shared().inFlight();
        }
        long waiting = System.nanoTime();

        int woken = 0;
        for (Futex f : futexes) {
            f.set(1);
            woken += f.wake(1);
        }
        long wakesIssued = System.nanoTime();
        for (Thread t : threads) t.join(TimeUnit.SECONDS.toMillis(30));
        long end = System.nanoTime();

        print("futex.threads", n);
        print("futex.viaUring", Linux.has(Feature.IO_URING_FUTEX));
        print("futex.kernelConsumed", consumed);
        print("futex.inFlightPeak", inFlightPeak);
        print("futex.wokenByWake", woken);
        print("futex.wokenInAwait", kernelWaits.get());
        print("futex.finished", finished.get());
        print("futex.failures", failures.get());
        print("futex.alive", threads.stream().filter(Thread::isAlive).count());
        print("futex.inFlightAfter", Linux.has(Feature.IO_URING_FUTEX) ? Uring.shared().inFlight() : 0);
        print("futex.msToAllWaiting", millis(start, waiting));
        print("futex.msToWake", millis(waiting, wakesIssued));
        print("futex.msWakeToAllDone", millis(waiting, end));
        print("futex.msTotal", millis(start, end));
    }

    /** Waits until the kernel has consumed {@code n} SQEs of the shared ring; returns the count seen. */
    private static long awaitKernelConsumed(int n, long timeoutMillis) throws InterruptedException {
        Uring.shared();
        List<Integer> rings = ioUringDescriptors();
        if (rings.size() != 1) throw new IllegalStateException("expected the shared ring alone, found io_uring fds " + rings);
        Path fdinfo = Path.of("/proc/self/fdinfo/" + rings.getFirst());
        Processes.awaitCondition(Duration.ofMillis(timeoutMillis), () -> sqHead(fdinfo) >= n);
        return sqHead(fdinfo);
    }

    private static long sqHead(Path fdinfo) {
        try {
            for (String line : Files.readAllLines(fdinfo)) {
                if (line.startsWith("SqHead:")) return Long.parseLong(line.substring("SqHead:".length()).trim());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return -1; // the kernel prints the ring state only when it can take the ring's lock at once: ask again
    }

    /** N virtual threads each spawn {@code sleep 1} and wait for it. */
    static void childWaiters(int n) throws InterruptedException {
        AtomicInteger succeeded = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        AtomicInteger waitingNow = new AtomicInteger();
        AtomicInteger waitingPeak = new AtomicInteger();
        List<Thread> threads = new ArrayList<>(n);
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            threads.add(Thread.ofVirtual().name("child-waiter-" + i).start(() -> {
                try (ProcessDescriptor child = ProcessDescriptor.spawn("sleep", "1")) {
                    waitingPeak.accumulateAndGet(waitingNow.incrementAndGet(), Math::max);
                    ExitStatus status = child.waitFor();
                    waitingNow.decrementAndGet();
                    if (status.success()) succeeded.incrementAndGet();
                } catch (IOException | InterruptedException | RuntimeException e) {
                    if (failures.getAndIncrement() == 0) e.printStackTrace();
                }
            }));
        }
        for (Thread t : threads) t.join(TimeUnit.SECONDS.toMillis(60));
        long end = System.nanoTime();
        print("children.threads", n);
        print("children.exitedZero", succeeded.get());
        print("children.failures", failures.get());
        print("children.waitingPeak", waitingPeak.get());
        print("children.alive", threads.stream().filter(Thread::isAlive).count());
        print("children.msTotal", millis(start, end));
    }

    /** What a JVM with io_uring disabled reports, and that virtual-thread futex waits still work. */
    static void fallback() throws InterruptedException {
        Capability uring = Linux.feature(Feature.IO_URING);
        print("fallback.io_uring.available", uring.available());
        print("fallback.io_uring.cause", uring.cause());
        print("fallback.io_uring_futex.available", Linux.has(Feature.IO_URING_FUTEX));
        print("fallback.io_uring_waitid.available", Linux.has(Feature.IO_URING_WAITID));
        print("fallback.open", outcome(() -> Uring.open(8).close()));
        print("fallback.shared", outcome(Uring::shared));
        print("fallback.sharedAgain", outcome(Uring::shared));
        futexWaiters(8);
    }

    private static String outcome(Runnable r) {
        try {
            r.run();
            return "returned";
        } catch (RuntimeException | Error e) {
            return e.getClass().getName() + ": " + e.getMessage();
        }
    }

    private static long millis(long fromNanos, long toNanos) {
        return TimeUnit.NANOSECONDS.toMillis(toNanos - fromNanos);
    }

    private static void print(String key, Object value) {
        System.out.println(key + "=" + value);
    }

    private static List<Integer> ioUringDescriptors() {
        return LeakGuard.descriptorsLinkingTo("anon_inode:[io_uring]");
    }
}
