package dev.fdkit;

import dev.fdkit.internal.Fd;

/** fdkit objects that own their descriptor: the Poller uses the Fd to follow its lifetime. */
interface FdOwner extends Pollable {
    Fd descriptor();

    @Override
    default int fd() {
        Fd fd = descriptor();
        if (fd.isClosed()) throw fd.closedException();
        return fd.number();
    }
}
