package dev.fdkit;

import dev.fdkit.internal.CgroupFs;
import dev.fdkit.internal.Errno;
import dev.fdkit.internal.Fd;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The fresh cgroup v2 a child started with {@link SpawnOption#NEW_CGROUP} runs in, with everything it starts:
 * however a descendant detaches (setsid, double fork, re-parented to init), it stays in the cgroup, so
 * {@link #kill()} ends the whole tree at once (cgroup.kill, Linux 5.14) and {@link #onEmpty()} says when the
 * tree is gone.
 * <p>
 * The cgroup is a directory below this JVM's own cgroup, named {@code fdkit-<jvm pid>-<n>}. The shared
 * {@link Poller} watches its cgroup.events (the kernel notifies a change of "populated" through kernfs: no
 * polling loop, one descriptor per live cgroup) and removes the directory once no process is left in it. A
 * cgroup still populated when this JVM exits stays behind (the kernel removes nothing by itself).
 */
public final class ControlGroup {
    private static final AtomicLong SEQUENCE = new AtomicLong();

    private final Path directory;
    private final Fd events; // cgroup.events, open until the cgroup is empty
    private final CompletableFuture<Void> empty = new PollerSafeFuture<>();

    private ControlGroup(Path directory, Fd events) {
        this.directory = directory;
        this.events = events;
    }

    /** A new, empty cgroup below ours; its events descriptor is open, not yet watched. */
    static ControlGroup create() throws IOException {
        CgroupFs.Probe probe = CgroupFs.probe();
        Capability capability = Linux.feature(Feature.CGROUP_KILL);
        if (!capability.available()) throw new UnsupportedOperationException("SpawnOption.NEW_CGROUP needs " + Feature.CGROUP_KILL.displayName() + ": " + capability.cause());
        Path directory = probe.directory().resolve("fdkit-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet());
        Files.createDirectory(directory);
        try {
            return new ControlGroup(directory, new Fd(Syscalls.open(directory.resolve("cgroup.events").toString(), Uapi.O_RDONLY, 0), "ControlGroup"));
        } catch (SyscallException e) {
            ErrnoException failure = ErrnoException.of(e);
            removeQuietly(directory, failure);
            throw failure;
        } catch (RuntimeException e) {
            removeQuietly(directory, e);
            throw e;
        }
    }

    /** Moves process {@code pid} (with its threads) into this cgroup. */
    void adopt(long pid) throws ErrnoException {
        write("cgroup.procs", Long.toString(pid));
    }

    /**
     * Starts watching for the cgroup to empty; after {@link #adopt}, since an empty cgroup counts as done. The
     * interest is edge-triggered: cgroup.events always polls readable, and each kernfs notification (a change
     * of populated or frozen; poll then also reports POLLPRI and POLLERR) fires it once, as does registering.
     */
    void watch() {
        Pollable file = () -> Descriptors.number(events);
        Poller.shared().register(file, Poller.READABLE, Poller.Trigger.EDGE, (registration, ready) -> {
            if (isPopulated()) return;
            registration.cancel(); // before the close: the poller never sees a released number
            events.close();
            try {
                Files.deleteIfExists(directory);
                empty.complete(null);
            } catch (IOException e) { // EBUSY: a process was moved in meanwhile, by someone else
                empty.completeExceptionally(e);
            }
        });
    }

    /** For a start that failed: removes the (still empty) cgroup; errors go to {@code failure}. */
    void discard(Throwable failure) {
        events.close();
        removeQuietly(directory, failure);
    }

    private static void removeQuietly(Path directory, Throwable failure) {
        try {
            Files.deleteIfExists(directory);
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    /**
     * The cgroup's directory, e.g. {@code /sys/fs/cgroup/user.slice/.../fdkit-4242-1}.
     *
     * @return the directory; it no longer exists once {@link #onEmpty()} has completed
     */
    public Path path() {
        return directory;
    }

    /**
     * SIGKILL to every process in the cgroup at once, by the kernel (cgroup.kill, Linux 5.14): also to those a
     * tree walk or a process group would miss (daemonised, setsid, re-parented). Processes cannot escape it by
     * forking meanwhile.
     *
     * @return true if the cgroup was told to kill; false if it is already gone (emptied and removed)
     * @throws ErrnoException if cgroup.kill cannot be written
     */
    public boolean kill() throws ErrnoException {
        try {
            write("cgroup.kill", "1");
            return true;
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENOENT) return false;
            throw e;
        }
    }

    /**
     * Whether any process is in the cgroup now ("populated" in cgroup.events). Exited, unreaped processes
     * (zombies) no longer count.
     *
     * @return true while a process is in it; false once it is empty
     */
    public boolean isPopulated() {
        int number = events.tryAcquire();
        if (number < 0) return false; // closed once found empty
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(256);
            long n = Syscalls.pread(number, buffer, buffer.byteSize(), 0);
            String text = new String(buffer.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII);
            return !text.contains("populated 0");
        } catch (SyscallException e) {
            throw ErrnoException.unchecked(e);
        } finally {
            events.release();
        }
    }

    /**
     * Completes, on the poller thread, once no process is left in the cgroup and its directory is removed:
     * the whole tree is gone, not only the child.
     *
     * @return a future for the emptying; completing or cancelling it does not affect the cgroup. It fails with
     *         an IOException if the directory could not be removed.
     */
    public CompletableFuture<Void> onEmpty() {
        return empty.copy();
    }

    private void write(String file, String value) throws ErrnoException {
        Path path = directory.resolve(file);
        int fd;
        try {
            fd = Syscalls.open(path.toString(), Uapi.O_WRONLY, 0);
        } catch (SyscallException e) {
            throw ErrnoException.of(e);
        }
        try (Arena arena = Arena.ofConfined()) {
            byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
            MemorySegment text = arena.allocate(bytes.length);
            text.copyFrom(MemorySegment.ofArray(bytes));
            Syscalls.write(fd, text, bytes.length);
        } catch (SyscallException e) { // the kernel's answer to the value (EBUSY, EINVAL) is the error that matters
            throw new ErrnoException("write", "\"" + path + "\", \"" + value + "\"", e.errno());
        } finally {
            Syscalls.closeQuietly(fd); // a close of a kernfs file reports nothing the write did not
        }
    }

    @Override
    public String toString() {
        return "ControlGroup(" + directory + (empty.isDone() ? ", empty" : "") + ")";
    }
}
