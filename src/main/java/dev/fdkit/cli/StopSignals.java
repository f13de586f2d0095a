package dev.fdkit.cli;

import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code fdkit run}'s handlers for SIGTERM, SIGINT and SIGHUP, installed only in the tool's own JVM and only
 * from its first command until its totals are printed: the library never handles signals. They replace the JVM's own handling (exit at once
 * through the shutdown hooks, which would leave the children running) and tell a {@link Listener} instead.
 * <p>
 * Through sun.misc.Signal, in module jdk.unsupported, an optional dependency of the module: on the class path
 * (bin/fdkit, java -jar) it is always there; on the module path only with {@code --add-modules jdk.unsupported},
 * and without it fdkit warns that a signal will leave the commands running. A signal the JVM was started
 * ignoring (nohup's SIGHUP, a background job's SIGINT) stays ignored; under -Xrs none can be caught.
 */
final class StopSignals implements AutoCloseable {
    private static final List<String> NAMES = List.of("TERM", "INT", "HUP");

    /** Told each stop signal, on a thread the JVM starts for it. */
    interface Listener {
        void stop(int number, String name);
    }

    private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();

    private StopSignals() {}

    /** Catches the stop signals until {@link #close()}; warns on {@code err} about those it cannot catch, and why. */
    static StopSignals install(Listener listener, PrintStream err) {
        StopSignals installed = new StopSignals();
        if (ModuleLayer.boot().findModule("jdk.unsupported").isEmpty()) {
            // Checked before any sun.misc class is touched: without the module they cannot be loaded.
            warn(err, NAMES, "module jdk.unsupported is not in the boot layer: add --add-modules jdk.unsupported");
            return installed;
        }
        List<String> failed = new ArrayList<>();
        String cause = null;
        for (String name : NAMES) {
            Signal signal = new Signal(name);
            try {
                installed.previous.put(signal, Signal.handle(signal, s -> listener.stop(s.getNumber(), "SIG" + s.getName())));
            } catch (IllegalArgumentException e) { // -Xrs, or the JVM uses it for itself
                failed.add(name);
                cause = e.getMessage();
            }
        }
        if (!failed.isEmpty()) warn(err, failed, cause);
        return installed;
    }

    private static void warn(PrintStream err, List<String> names, String cause) {
        err.printf("fdkit run: warning: cannot catch %s (%s): a stop by %s will leave the running commands behind%n",
                String.join(", ", names.stream().map(n -> "SIG" + n).toList()), cause, names.size() == 1 ? "it" : "them");
    }

    /** Gives the JVM back its own handlers. */
    @Override
    public void close() {
        if (previous.isEmpty()) return; // nothing installed: sun.misc may not even be loadable
        previous.forEach(Signal::handle);
        previous.clear();
    }
}
