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

    /** The Fd of one of fdkit's own objects; null for a foreign Pollable (or a Poller, CompletionRing...). */
    static Fd of(Pollable target) {
        return switch (target) {
            case EventFd e -> e.descriptor();
            case ProcessSet s -> s.descriptor();
            case ProcessDescriptor p -> p.descriptor();
            case PipeReader r -> r.descriptor();
            case PipeWriter w -> w.descriptor();
            case OwnedDescriptor o -> o.descriptor();
            case ReadinessWait.Duplicate d -> d.descriptor();
            default -> null;
        };
    }

    /** {@link Pollable#fd()} for an fdkit object: its number, or IllegalStateException once closed. */
    static int number(Fd fd) {
        if (fd.isClosed()) throw fd.closedException();
        return fd.number();
    }
}
