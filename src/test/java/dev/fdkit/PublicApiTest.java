package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The exported package's public surface names only exported (or JDK) types: callers cannot use the rest. */
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

    private static boolean isInternal(Class<?> type) {
        while (type.isArray()) type = type.getComponentType();
        return type.getPackageName().startsWith(INTERNAL);
    }

    /** Public top-level and nested types of dev.fdkit, from the compiled classes. */
    private static List<Class<?>> publicTypes() throws IOException, URISyntaxException, ClassNotFoundException {
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
