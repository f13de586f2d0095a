package dev.fdkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Holds this process at its RLIMIT_NOFILE with an exact number of descriptors free: the soft limit is lowered
 * to just above the highest descriptor open, and every free number below it is taken by a /dev/null "filler"
 * (opened raw, close-on-exec), so the next open gets EMFILE; {@link #free(int)} gives back exactly k.
 * {@link #freeCount()} counts what is free without /proc (listing it needs a descriptor too): a leak shows
 * as one fewer. {@link #close()} closes the fillers and restores the limit.
 */
public final class DescriptorLimit implements AutoCloseable {
    private static final int SPARE = 16; // numbers above the highest open one, so every operation can be swept

    private final long[] original;
    private final Deque<Integer> fillers = new ArrayDeque<>();

    private DescriptorLimit(long[] original) {
        this.original = original;
    }

    /** Lowers the soft limit and fills every free number below it: nothing is free afterwards. */
    public static DescriptorLimit exhaust() {
        long[] original = RawLinux.getrlimit(RawLinux.RLIMIT_NOFILE);
        RawLinux.setrlimit(RawLinux.RLIMIT_NOFILE, highestOpen() + 1 + SPARE, original[1]);
        DescriptorLimit limit = new DescriptorLimit(original);
        limit.fill();
        return limit;
    }

    /** Exactly {@code k} descriptors free from now on (until someone opens one). */
    void free(int k) {
        fill();
        for (int i = 0; i < k; i++) RawLinux.close(fillers.pop());
    }

    /** How many descriptors can be opened now: all are opened, counted, and closed again. */
    int freeCount() {
        int before = fillers.size();
        fill();
        int free = fillers.size() - before;
        for (int i = 0; i < free; i++) RawLinux.close(fillers.pop());
        return free;
    }

    private void fill() {
        for (;;) {
            int fd = RawLinux.openDevNull();
            if (fd == -RawLinux.EMFILE) return;
            if (fd < 0) throw new IllegalStateException("open(/dev/null) failed: errno " + -fd);
            fillers.push(fd);
        }
    }

    private static int highestOpen() {
        int highest = 0;
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : fds) highest = Math.max(highest, Integer.parseInt(fd.getFileName().toString()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return highest;
    }

    @Override
    public void close() {
        while (!fillers.isEmpty()) RawLinux.close(fillers.pop());
        RawLinux.setrlimit(RawLinux.RLIMIT_NOFILE, original[0], original[1]);
    }
}
