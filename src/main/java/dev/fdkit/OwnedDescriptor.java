package dev.fdkit;

import dev.fdkit.internal.Fd;

import java.lang.ref.Cleaner;

/**
 * A descriptor this JVM owns and nothing else in fdkit wraps, such as one taken from another process with
 * {@link ProcessDescriptor#duplicateDescriptor(int)}: close-on-exec, closed once by {@link #close()} (or, if
 * dropped unclosed, by a Cleaner). Hand it to a child with {@link SpawnOption#passDescriptor(int, int)}, or
 * register it on a {@link Poller}, which follows its lifetime like that of fdkit's own objects.
 */
public final class OwnedDescriptor implements Descriptors.Owned, AutoCloseable {
    private final Fd fd;
    private final Cleaner.Cleanable cleanable;

    OwnedDescriptor(int number, String what) {
        this.fd = new Fd(number, what);
        Fd owned = fd; // the action holds the Fd only, never this object
        this.cleanable = Fd.cleaner().register(this, owned::close);
    }

    /**
     * The descriptor number.
     *
     * @return the number, valid until {@link #close()}
     * @throws IllegalStateException once closed
     */
    @Override
    public int fd() {
        return Descriptors.number(fd);
    }

    Fd descriptor() {
        return fd;
    }

    /** Closes the descriptor (after any fdkit call still using it returns). Idempotent. */
    @Override
    public void close() {
        cleanable.clean();
    }

    @Override
    public String toString() {
        return "OwnedDescriptor(" + fd + ")";
    }
}
