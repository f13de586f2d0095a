package dev.fdkit;

/**
 * Anything with a file descriptor that a {@link Poller} (or a host event loop) can wait on.
 * fdkit's own types implement it; so can any object of yours that owns a descriptor.
 */
public interface Pollable {
    /**
     * The descriptor number. For fdkit objects this throws IllegalStateException once closed.
     * Registering a foreign descriptor with a Poller: cancel the registration before you close it.
     *
     * @return the open descriptor number, non-negative
     */
    int fd();
}
