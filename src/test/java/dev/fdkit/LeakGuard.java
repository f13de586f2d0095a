package dev.fdkit;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Fails a test class that leaves descriptors or threads behind: the number of open descriptors
 * (/proc/self/fd) must be the same after the class as before it (fewer would mean a descriptor someone
 * else owned was closed), and no platform thread started during the class may still be alive.
 * <p>
 * What lives for the whole JVM and is therefore part of the baseline, not a leak:
 * <ul>
 * <li>the shared poller (its thread {@code fdkit-poller}, its epoll fd and wakeup eventfd) and the
 *     EventFd Cleaner thread: {@code Poller.shared()} is touched before the baseline is taken;</li>
 * <li>descriptors of jar files: class loaders open each jar on first use and keep it open;</li>
 * <li>threads of JDK-owned pools that start lazily and idle out on their own schedule: virtual-thread
 *     carriers and their timer ({@code VirtualThread-unblocker}), common ForkJoinPool workers,
 *     {@code process reaper} threads of ProcessBuilder, and JUnit's
 *     {@code junit-jupiter-timeout-watcher} (started by the first {@code @Timeout}).</li>
 * </ul>
 * Threads get a grace period to finish exiting; descriptors a short one, for a close(2) that a
 * use-count defers to the end of a call still returning on another thread.
 */
public final class LeakGuard implements BeforeAllCallback, AfterAllCallback {
    private static final long GRACE_MILLIS = 5_000;

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(LeakGuard.class);

    private record Baseline(Map<String, Integer> descriptors, Set<Thread> threads) {}

    @Override
    public void beforeAll(ExtensionContext context) {
        Poller.shared(); // starts the JVM-lifetime poller thread and its descriptors before we count
        context.getStore(NAMESPACE).put(context.getRequiredTestClass(), new Baseline(openDescriptors(), ownedThreads()));
    }

    @Override
    public void afterAll(ExtensionContext context) throws InterruptedException {
        Baseline before = context.getStore(NAMESPACE).remove(context.getRequiredTestClass(), Baseline.class);
        Processes.awaitCondition(Duration.ofMillis(GRACE_MILLIS), () -> leaks(before) == null);
        String leaks = leaks(before);
        if (leaks != null) throw new AssertionError(context.getDisplayName() + " leaked: " + leaks);
    }

    private static String leaks(Baseline before) {
        Map<String, Integer> descriptors = openDescriptors();
        Set<Thread> threads = ownedThreads();
        int descriptorsBefore = total(before.descriptors());
        int descriptorsAfter = total(descriptors);
        // The shared poller's loop moves to a new fdkit-poller thread when a callback blocks on it: which thread
        // runs it may change, but there is always exactly one once the blocked callbacks have returned.
        List<String> started = threads.stream().filter(t -> !before.threads().contains(t) && !isSharedPollerThread(t))
                .map(Thread::getName).sorted().toList();
        long pollerThreads = threads.stream().filter(LeakGuard::isSharedPollerThread).count();
        if (pollerThreads != 1) started = Stream.concat(started.stream(), Stream.of(pollerThreads + " fdkit-poller threads")).toList();
        if (descriptorsBefore == descriptorsAfter && started.isEmpty()) return null;
        List<String> report = new ArrayList<>();
        if (descriptorsBefore != descriptorsAfter) {
            Map<String, Integer> difference = new TreeMap<>();
            for (String target : union(before.descriptors().keySet(), descriptors.keySet())) {
                int delta = descriptors.getOrDefault(target, 0) - before.descriptors().getOrDefault(target, 0);
                if (delta != 0) difference.put(target, delta);
            }
            report.add("open descriptors " + descriptorsBefore + " -> " + descriptorsAfter + " " + difference);
        }
        if (!started.isEmpty()) {
            report.add("live threads " + before.threads().size() + " -> " + threads.size() + ", new: " + started);
        }
        return String.join("; ", report);
    }

    /** Open descriptors by what they point at ({@code anon_inode:[eventfd]}, {@code pipe:[123]}...), jar files left out. */
    static Map<String, Integer> openDescriptors() {
        Path fds = Path.of("/proc/self/fd");
        Map<String, Integer> counts = new HashMap<>();
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(fds)) {
            stream.forEach(entries::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Resolved after the directory stream (itself a descriptor) is closed.
        for (Path entry : entries) {
            String target;
            try {
                target = Files.readSymbolicLink(entry).toString();
            } catch (IOException e) {
                continue; // the directory stream's own descriptor, gone by now
            }
            if (target.endsWith(".jar") || target.endsWith(".jar (deleted)")) continue; // surefire deletes its booter jar early
            if (target.endsWith(".class")) continue; // a class being loaded from target/classes on another thread, open for a moment
            counts.merge(target, 1, Integer::sum);
        }
        return counts;
    }

    /** Our open descriptors whose /proc/self/fd link reads {@code target} (e.g. "anon_inode:[io_uring]"), in order. */
    static List<Integer> descriptorsLinkingTo(String target) {
        List<Integer> fds = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path entry : entries) {
                try {
                    if (Files.readSymbolicLink(entry).toString().equals(target)) fds.add(Integer.parseInt(entry.getFileName().toString()));
                } catch (IOException gone) {
                    // the directory stream's own descriptor
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        fds.sort(null);
        return fds;
    }

    /** Number of open descriptors, jar files left out. */
    public static int openDescriptorCount() {
        return total(openDescriptors());
    }

    private static Set<Thread> ownedThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .filter(t -> !isJdkPoolThread(t))
                .collect(Collectors.toSet());
    }

    static boolean isSharedPollerThread(Thread t) {
        return t.getName().equals("fdkit-poller");
    }

    private static boolean isJdkPoolThread(Thread t) {
        if (t instanceof ForkJoinWorkerThread worker) {
            // Virtual-thread carriers (jdk.internal.misc.CarrierThread) and the common pool's workers.
            return worker.getPool() == java.util.concurrent.ForkJoinPool.commonPool()
                    || t.getClass().getName().equals("jdk.internal.misc.CarrierThread");
        }
        String name = t.getName();
        return name.startsWith("process reaper") || name.equals("VirtualThread-unblocker") || name.equals("junit-jupiter-timeout-watcher")
                || name.startsWith("JFR "); // Flight Recorder's own threads live on once a recording has started
    }

    private static int total(Map<String, Integer> counts) {
        return counts.values().stream().mapToInt(Integer::intValue).sum();
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new java.util.TreeSet<>(a);
        all.addAll(b);
        return Collections.unmodifiableSet(all);
    }
}
