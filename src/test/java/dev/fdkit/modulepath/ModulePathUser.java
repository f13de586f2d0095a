package dev.fdkit.modulepath;

import dev.fdkit.ErrnoException;
import dev.fdkit.EventFd;
import dev.fdkit.Poller;
import dev.fdkit.ProcessDescriptor;

import java.time.Duration;

/**
 * Not a test: the main class that {@link ModulePathTest} runs in a JVM where fdkit is the module dev.fdkit on the
 * module path and this class a user on the class path, as an application meets a modular library. Uses the
 * public API (a process, an eventfd, a poller) and prints {@code key=value} lines about what it could reach.
 */
public final class ModulePathUser {
    private ModulePathUser() {}

    public static void main(String[] args) throws Exception {
        Module fdkit = EventFd.class.getModule();
        print("module", fdkit.getName());
        print("native.access", fdkit.isNativeAccessEnabled());
        print("exports.api", fdkit.isExported("dev.fdkit"));
        print("exports.internal", fdkit.getPackages().stream().filter(p -> !p.equals("dev.fdkit")).anyMatch(fdkit::isExported));
        print("deep.reflection", deepReflection());

        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "exit 5"))) {
            print("exit", child.waitFor(Duration.ofSeconds(10)).map(Object::toString).orElse("still running"));
        }
        try (EventFd wakeUp = EventFd.open(); Poller poller = Poller.open()) {
            long[] seen = new long[1];
            poller.register(wakeUp, Poller.READABLE, (r, events) -> seen[0] = wakeUp.tryReadValue());
            wakeUp.signal(7);
            print("poll", poller.poll(Duration.ofSeconds(10)) + " " + seen[0]);
        }
        try {
            ProcessDescriptor.open(Integer.MAX_VALUE); // no such process: the exported exception type, with the errno
            print("errno", "none");
        } catch (ErrnoException e) {
            print("errno", e.errnoName());
        }
    }

    /** Deep reflection into fdkit's private state, as a framework might try: exported is not open, so it is refused. */
    private static String deepReflection() {
        java.lang.reflect.Field field = ProcessDescriptor.class.getDeclaredFields()[0];
        try {
            field.setAccessible(true);
            return "allowed";
        } catch (RuntimeException e) { // InaccessibleObjectException
            return "refused " + e.getClass().getSimpleName();
        }
    }

    private static void print(String key, Object value) {
        System.out.println(key + "=" + value);
    }
}
