package dev.fdkit;

import java.time.Duration;

/**
 * Starts the shared poller and ends main, for {@link PollerTest}: a shutdown hook of its own reports whether
 * the idle fdkit-poller thread left its native epoll_wait (HotSpot waits up to 300 ms at exit for every thread
 * in a native call) and parked in Java, as fdkit's own hook makes it do.
 */
final class PollerExitScenario {
    private PollerExitScenario() {}

    public static void main(String[] args) {
        Poller.shared();
        Thread poller = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("fdkit-poller")).findFirst().orElseThrow();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("parkedInJavaAtExit="
                + Processes.awaitCondition(Duration.ofSeconds(5), () -> poller.getState() == Thread.State.TIMED_WAITING))));
    }
}
