package dev.fdkit;

import dev.fdkit.internal.Fd;

/**
 * The Fd behind fdkit's own Pollables. Package-private on purpose: the public API shows only
 * {@link Pollable#fd()}, while the Poller and Uring need the Fd to follow the descriptor's lifetime
 * (close hooks, use counts) and never touch a number that close() has released.
 */
final class Descriptors {
    private Descriptors() {
    }

    /**
     * fdkit's own Pollables: the switches below are exhaustive over them, so a new one cannot be forgotten.
     * It declares no {@code descriptor()}: an interface method is public, and the Fd must not show in the API.
     */
    sealed interface Owned extends Pollable permits EventFd, ProcessSet, ProcessDescriptor, PipeReader, PipeWriter, OwnedDescriptor,
            ReadinessWait.Duplicate {
    }

    /** The Fd of one of fdkit's own objects; null for a foreign Pollable. */
    static Fd of(Pollable target) {
        if (!(target instanceof Owned owned)) return null;
        return switch (owned) {
            case EventFd e -> e.descriptor();
            case ProcessSet s -> s.descriptor();
            case ProcessDescriptor p -> p.descriptor();
            case PipeReader r -> r.descriptor();
            case PipeWriter w -> w.descriptor();
            case OwnedDescriptor o -> o.descriptor();
            case ReadinessWait.Duplicate d -> d.descriptor();
        };
    }

    /**
     * The one rule against EEXIST: epoll keys an interest by (open file, descriptor number), and fdkit's own
     * interest in an object on the shared poller must never collide with a user's registration of it. The
     * registration made second, and short-lived, holds a duplicate: ReadinessWait's blocking waits duplicate
     * the EventFd or pipe; a user's registration of a ProcessDescriptor, whose exit fdkit watches from the
     * start, duplicates its pidfd. True when a user's registration of {@code target} must hold a duplicate.
     */
    static boolean watchedByFdkit(Pollable target) {
        return target instanceof Owned owned && switch (owned) {
            case ProcessDescriptor p -> true;
            case EventFd e -> false;
            case ProcessSet s -> false;
            case PipeReader r -> false;
            case PipeWriter w -> false;
            case OwnedDescriptor o -> false;
            case ReadinessWait.Duplicate d -> false;
        };
    }

    /** {@link Pollable#fd()} for an fdkit object: its number, or IllegalStateException once closed. */
    static int number(Fd fd) {
        if (fd.isClosed()) throw fd.closedException();
        return fd.number();
    }
}
