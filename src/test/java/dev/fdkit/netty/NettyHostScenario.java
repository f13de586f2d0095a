package dev.fdkit.netty;

import dev.fdkit.EventFd;
import dev.fdkit.ExitStatus;
import dev.fdkit.ProcessDescriptor;
import dev.fdkit.Processes;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.IoRegistration;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Not a test: the main class of the fresh JVM that {@link NettyHostTest} starts (the shared poller is one per
 * JVM, and the test JVM's may run on its own thread already). Hosts fdkit in a one-thread Netty epoll loop and
 * prints {@code key=value} lines: which thread ran each callback, and which fdkit threads exist.
 */
public final class NettyHostScenario {
    private static final long TIMEOUT_SECONDS = 10;

    private NettyHostScenario() {}

    public static void main(String[] args) throws Exception {
        IoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        try {
            IoEventLoop loop = group.next();
            IoRegistration hosting = FdkitIoHandle.host(loop);
            print("loop.thread", loop.submit(() -> Thread.currentThread().getName()).get(TIMEOUT_SECONDS, TimeUnit.SECONDS));
            processExit();
            eventFdWakeUp();
            print("fdkit.threads", fdkitThreads());
            blockingOnTheLoopHandsItOff(loop);
            print("hosting.valid", hosting.isValid());
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    /** The child runs until its stdin closes, so the callback is attached before the exit: it runs where fdkit completes it. */
    private static void processExit() throws Exception {
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "read line; exit 3"))) {
            CompletableFuture<String> thread = child.onExit().thenApply(status -> Thread.currentThread().getName() + " " + status);
            child.stdin().close();
            print("exit", thread.get(TIMEOUT_SECONDS, TimeUnit.SECONDS));
        }
    }

    private static void eventFdWakeUp() throws Exception {
        try (EventFd wakeUp = EventFd.open()) {
            CompletableFuture<String> read = wakeUp.readAsync().thenApply(value -> Thread.currentThread().getName() + " " + value);
            wakeUp.signal(42);
            print("eventfd", read.get(TIMEOUT_SECONDS, TimeUnit.SECONDS));
        }
    }

    /**
     * waitFor() on the loop's own thread: nothing else drives fdkit, so the wait must hand the loop to an
     * fdkit-poller thread first. The child ends once that thread exists (its stdin is closed then).
     */
    private static void blockingOnTheLoopHandsItOff(IoEventLoop loop) throws Exception {
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "read line; exit 4"))) {
            Future<Optional<ExitStatus>> waited = loop.submit(() -> child.waitFor(Duration.ofSeconds(TIMEOUT_SECONDS)));
            Processes.awaitCondition(Duration.ofSeconds(TIMEOUT_SECONDS), () -> !fdkitThreads().isEmpty());
            print("handoff.threads", fdkitThreads());
            child.stdin().close();
            print("handoff.status", waited.get(2 * TIMEOUT_SECONDS, TimeUnit.SECONDS).map(ExitStatus::toString).orElse("still running"));
        }
    }

    private static String fdkitThreads() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName).filter(name -> name.startsWith("fdkit"))
                .sorted().collect(Collectors.joining(","));
    }

    private static void print(String key, Object value) {
        System.out.println(key + "=" + value);
    }

}
