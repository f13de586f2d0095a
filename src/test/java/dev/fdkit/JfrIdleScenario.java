package dev.fdkit;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Spawns and reaps a child and runs a poller handler with no recording anywhere, for
 * {@link FlightRecorderEventsTest}: with {@code -Xlog:class+load} its output shows whether fdkit's events made
 * the JVM load Flight Recorder's metadata.
 */
final class JfrIdleScenario {
    private JfrIdleScenario() {}

    public static void main(String[] args) throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("true"))) {
            System.out.println("status=" + p.waitFor());
        }
        try (EventFd e = EventFd.open()) {
            CompletableFuture<Long> handled = new CompletableFuture<>();
            Poller.Registration r = Poller.shared().register(e, Poller.READABLE, (reg, events) -> handled.complete(e.tryReadValue()));
            e.signal(5);
            System.out.println("handled=" + handled.get(30, TimeUnit.SECONDS));
            r.cancel();
        }
    }
}
