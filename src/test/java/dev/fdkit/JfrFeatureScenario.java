package dev.fdkit;

/** Prints what the probe says of JFR_EVENTS, for {@link FlightRecorderEventsTest} in a JVM started with chosen options. */
final class JfrFeatureScenario {
    private JfrFeatureScenario() {}

    public static void main(String[] args) {
        Capability jfr = Linux.feature(Feature.JFR_EVENTS);
        System.out.println("available=" + jfr.available());
        System.out.println("cause=" + jfr.cause());
    }
}
