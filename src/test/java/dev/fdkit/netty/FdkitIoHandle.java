package dev.fdkit.netty;

import dev.fdkit.Poller;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The README's Netty glue: fdkit's shared poller nested in a Netty 4.2 epoll event loop through the IoHandle API.
 * fdkit's epoll descriptor is one more handle in the loop; when it is readable the loop's thread runs fdkit's
 * ready handlers, so process exits, publishers and readAsync() complete there, and no fdkit thread is started.
 */
// README begin
final class FdkitIoHandle implements EpollIoHandle {
    private final Poller poller = Poller.hostShared(); // fdkit's shared poller, without a thread of its own
    private final FileDescriptor fd = new FileDescriptor(poller.fd());

    /** Nests fdkit in {@code loop} (an EpollIoHandler loop): from now on fdkit's callbacks run on its thread. */
    static IoRegistration host(IoEventLoop loop) throws Exception {
        IoRegistration registration = loop.register(new FdkitIoHandle()).get(10, TimeUnit.SECONDS);
        registration.submit(EpollIoOps.EPOLLIN); // level-triggered: readable while fdkit has events
        return registration;
    }

    @Override
    public FileDescriptor fd() {
        return fd;
    }

    @Override
    public void handle(IoRegistration registration, IoEvent event) {
        poller.poll(Duration.ZERO); // runs the ready handlers here, on the event loop, without blocking
    }

    @Override
    public void close() {
        // the shared poller outlives the loop: nothing to close
    }
}
// README end
