package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.lang.reflect.ParameterizedType;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The exported package's public surface names only exported (or JDK) types: callers cannot use the rest. */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
class PublicApiTest {
    private static final String INTERNAL = "dev.fdkit.internal";

    @Test
    void noPublicMethodOrFieldOfTheExportedPackageUsesAnInternalType() throws Exception {
        List<String> leaks = new ArrayList<>();
        for (Class<?> type : publicTypes()) {
            for (Method m : type.getMethods()) {
                if (!m.getDeclaringClass().getPackageName().startsWith("dev.fdkit")) continue; // Object's, the JDK's
                List<Class<?>> used = new ArrayList<>(List.of(m.getParameterTypes()));
                used.add(m.getReturnType());
                used.addAll(List.of(m.getExceptionTypes()));
                for (Class<?> u : used) if (isInternal(u)) leaks.add(type.getSimpleName() + "." + m.getName() + " uses " + u.getName());
            }
            for (Field f : type.getFields()) {
                if (isInternal(f.getType())) leaks.add(type.getSimpleName() + "." + f.getName() + " is a " + f.getType().getName());
            }
        }
        assertThat(leaks).isEmpty();
    }

    /** Parameters documented to accept null, with what null means there. */
    private static final Set<String> NULLABLE = Set.of(
            "Futex.awaitAny(timeout)",          // no timeout
            "Futex.awaitBitset(clock)",         // no deadline
            "ExitStatus.exited(usage)",         // no resource usage known (not our child)
            "ExitStatus.killed(usage)",
            "ExitStatus.fromWaitStatus(usage)");

    /**
     * Every public method of the exported package, called with null for one reference parameter at a time
     * and valid values for the others, throws a NullPointerException that names that parameter (record
     * constructors are plain carriers and are left out, as are interfaces, which callers implement; enum valueOf
     * is the JDK's). An int argument is 2,
     * which a futex word holding 0 never matches: a wait that failed to reject its null would not block.
     */
    @Test
    void everyPublicMethodRejectsANullArgumentNamingIt(@TempDir Path tmp) throws Exception {
        Map<Class<?>, Object> samples = new HashMap<>();
        try (Poller poller = Poller.open(); EventFd eventFd = EventFd.open(); CompletionRing ring = CompletionRing.allocate(4);
             Uring uring = Uring.open(4, poller); ProcessDescriptor process = ProcessDescriptor.start(new ProcessBuilder("true"));
             ProcessSet set = ProcessSet.open()) {
            process.waitFor();
            Futex futex = Futex.privateWord(Arena.ofAuto().allocate(8, 8), 0);
            samples.putAll(Map.ofEntries(Map.entry(Poller.class, poller), Map.entry(EventFd.class, eventFd), Map.entry(Pollable.class, eventFd),
                    Map.entry(CompletionRing.class, ring), Map.entry(Uring.class, uring), Map.entry(ProcessDescriptor.class, process), Map.entry(ProcessSet.class, set),
                    Map.entry(Futex.class, futex), Map.entry(Futex.Clock.class, Futex.Clock.MONOTONIC),
                    Map.entry(java.lang.foreign.MemorySegment.class, Arena.ofAuto().allocate(8, 8)),
                    Map.entry(ProcessBuilder.class, new ProcessBuilder("true")), Map.entry(SpawnOption[].class, new SpawnOption[0]),
                    Map.entry(String[].class, new String[] {"true"}), Map.entry(String.class, "x"), Map.entry(int[].class, new int[] {1}),
                    Map.entry(ProcessHandle.class, ProcessHandle.current()), Map.entry(Duration.class, Duration.ZERO),
                    Map.entry(Instant.class, Instant.now()), Map.entry(Path.class, tmp.resolve("ring")), Map.entry(Feature.class, Feature.PIDFD_OPEN),
                    Map.entry(Completion.class, new Completion(1, 2, 3, 4)), Map.entry(Uring.Op.class, new Uring.Nop(100)),
                    Map.entry(Consumer.class, (Consumer<Completion>) c -> { }), Map.entry(TimeUnit.class, TimeUnit.SECONDS),
                    Map.entry(Poller.Trigger.class, Poller.Trigger.LEVEL),
                    Map.entry(CompletionRing.Handler.class, (CompletionRing.Handler) (c, o, r, r2) -> { }),
                    Map.entry(Poller.Handler.class, (Poller.Handler) (r, events) -> { }),
                    Map.entry(Uring.CompletionHandler.class, (Uring.CompletionHandler) (cookie, res, flags) -> { }),
                    Map.entry(int.class, 2), Map.entry(long.class, 0L), Map.entry(boolean.class, false)));
            List<String> unnamed = new ArrayList<>();
            int calls = 0;
            for (Class<?> type : publicTypes()) {
                for (Method m : type.getMethods()) {
                    if (m.getDeclaringClass() != type || m.isSynthetic() || type.isRecord() && m.getName().equals("equals")) continue;
                    if (type.isEnum() && m.getName().equals("valueOf") || type.isInterface()) continue;
                    boolean isStatic = Modifier.isStatic(m.getModifiers());
                    if (!isStatic && !samples.containsKey(type)) continue; // no instance to call it on
                    Parameter[] parameters = m.getParameters();
                    for (int i = 0; i < parameters.length; i++) {
                        if (parameters[i].getType().isPrimitive()) continue;
                        String where = type.getSimpleName() + "." + m.getName() + "(" + parameters[i].getName() + ")";
                        if (NULLABLE.contains(where)) continue;
                        Object[] args = new Object[parameters.length];
                        for (int j = 0; j < parameters.length; j++) args[j] = j == i ? null : sample(samples, parameters[j], futex);
                        calls++;
                        Throwable thrown = null;
                        try {
                            m.invoke(isStatic ? null : samples.get(type), args);
                        } catch (InvocationTargetException e) {
                            thrown = e.getCause();
                        }
                        if (!(thrown instanceof NullPointerException npe) || npe.getMessage() == null
                                || !npe.getMessage().startsWith(parameters[i].getName())) {
                            unnamed.add(where + ": " + thrown);
                        }
                    }
                }
            }
            assertThat(calls).as("calls made").isGreaterThan(30);
            assertThat(unnamed).isEmpty();
        }
    }

    private static Object sample(Map<Class<?>, Object> samples, Parameter p, Futex futex) {
        if (p.getType() == List.class) {
            Object element = ((ParameterizedType) p.getParameterizedType()).getActualTypeArguments()[0];
            return element == Futex.class ? List.of(futex) : List.of(new Uring.Nop(101));
        }
        Object sample = samples.get(p.getType());
        assertThat(sample).as("a sample %s for %s", p.getType(), p).isNotNull();
        return sample;
    }

    private static boolean isInternal(Class<?> type) {
        while (type.isArray()) type = type.getComponentType();
        return type.getPackageName().startsWith(INTERNAL);
    }

    /** Public top-level and nested types of dev.fdkit, from the compiled classes. */
    static List<Class<?>> publicTypes() throws IOException, URISyntaxException, ClassNotFoundException {
        Path root = Path.of(EventFd.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<Class<?>> types = new ArrayList<>();
        try (Stream<Path> files = Files.list(root.resolve("dev/fdkit"))) {
            for (Path p : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String name = p.getFileName().toString().replace(".class", "");
                if (name.equals("module-info") || name.equals("package-info")) continue;
                Class<?> c = Class.forName("dev.fdkit." + name, false, PublicApiTest.class.getClassLoader());
                if (Modifier.isPublic(c.getModifiers()) && isPublicChain(c)) types.add(c);
            }
        }
        assertThat(types).contains(EventFd.class, ProcessDescriptor.class, Poller.class);
        return types;
    }

    private static boolean isPublicChain(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) if (!Modifier.isPublic(k.getModifiers())) return false;
        return !c.isAnonymousClass() && !c.isLocalClass();
    }
}
