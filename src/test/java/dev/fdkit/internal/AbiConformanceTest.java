package dev.fdkit.internal;

import dev.fdkit.LeakGuard;
import dev.fdkit.internal.linux.__kernel_timespec;
import dev.fdkit.internal.linux.epoll_event;
import dev.fdkit.internal.linux.fdkit_h;
import dev.fdkit.internal.linux.futex_waitv;
import dev.fdkit.internal.linux.io_cqring_offsets;
import dev.fdkit.internal.linux.io_sqring_offsets;
import dev.fdkit.internal.linux.io_uring_cqe;
import dev.fdkit.internal.linux.io_uring_params;
import dev.fdkit.internal.linux.io_uring_probe;
import dev.fdkit.internal.linux.io_uring_probe_op;
import dev.fdkit.internal.linux.io_uring_sqe;
import dev.fdkit.internal.linux.pidfd_info;
import dev.fdkit.internal.linux.posix_spawn_file_actions_t;
import dev.fdkit.internal.linux.posix_spawnattr_t;
import dev.fdkit.internal.linux.rusage;
import dev.fdkit.internal.linux.siginfo_t;
import dev.fdkit.internal.linux.sigset_t;
import dev.fdkit.internal.linux.timespec;
import dev.fdkit.internal.linux.timeval;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.SequenceLayout;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The generated bindings against the C compiler of this machine: a C probe, compiled with gcc from
 * {@code headers/fdkit.h} (the header jextract read), prints sizeof, alignment and every member's offset
 * and size of each struct fdkit uses, and the value of every constant {@code src/main/java} calls as
 * {@code fdkit_h.NAME()}. The Java layouts and constants must agree, on whatever architecture runs the test.
 * Without gcc the test is skipped.
 */
@ExtendWith(LeakGuard.class)
@Timeout(120)
class AbiConformanceTest {
    /** C type name to the generated layout. Member lists come from the layouts themselves. */
    private static final Map<String, GroupLayout> STRUCTS = new LinkedHashMap<>();

    static {
        STRUCTS.put("struct epoll_event", epoll_event.layout());
        STRUCTS.put("siginfo_t", siginfo_t.layout());
        STRUCTS.put("struct rusage", rusage.layout());
        STRUCTS.put("struct timeval", timeval.layout());
        STRUCTS.put("struct timespec", timespec.layout());
        STRUCTS.put("struct __kernel_timespec", __kernel_timespec.layout());
        STRUCTS.put("struct pidfd_info", pidfd_info.layout());
        STRUCTS.put("struct futex_waitv", futex_waitv.layout());
        STRUCTS.put("struct io_uring_params", io_uring_params.layout());
        STRUCTS.put("struct io_sqring_offsets", io_sqring_offsets.layout());
        STRUCTS.put("struct io_cqring_offsets", io_cqring_offsets.layout());
        STRUCTS.put("struct io_uring_sqe", io_uring_sqe.layout());
        STRUCTS.put("struct io_uring_cqe", io_uring_cqe.layout());
        STRUCTS.put("struct io_uring_probe", io_uring_probe.layout());
        STRUCTS.put("struct io_uring_probe_op", io_uring_probe_op.layout());
        STRUCTS.put("posix_spawn_file_actions_t", posix_spawn_file_actions_t.layout());
        STRUCTS.put("posix_spawnattr_t", posix_spawnattr_t.layout());
        STRUCTS.put("sigset_t", sigset_t.layout());
    }

    /**
     * siginfo_t fields by their POSIX names, which glibc defines as macros into the union
     * ({@code si_pid} is {@code _sifields._kill.si_pid}); the Java path is the one Syscalls reads.
     */
    private static final Map<String, List<String>> SIGINFO_POSIX_FIELDS = new LinkedHashMap<>();

    static {
        SIGINFO_POSIX_FIELDS.put("si_signo", List.of("si_signo"));
        SIGINFO_POSIX_FIELDS.put("si_code", List.of("si_code"));
        SIGINFO_POSIX_FIELDS.put("si_pid", List.of("_sifields", "_sigchld", "si_pid"));
        SIGINFO_POSIX_FIELDS.put("si_uid", List.of("_sifields", "_sigchld", "si_uid"));
        SIGINFO_POSIX_FIELDS.put("si_status", List.of("_sifields", "_sigchld", "si_status"));
    }

    private static final Pattern CONSTANT_CALL = Pattern.compile("\\bfdkit_h\\.([A-Za-z_][A-Za-z0-9_]*)\\(\\)");
    private static final Pattern STATIC_IMPORT = Pattern.compile("import\\s+static\\s+dev\\.fdkit\\.internal\\.linux\\.fdkit_h\\.([A-Za-z_][A-Za-z0-9_]*|\\*)\\s*;");

    @TempDir
    static Path work;

    private static Path project;
    private static List<Member> members;
    private static Set<String> constants;
    private static Map<String, Integer> handWritten;
    private static Map<String, Long> measured;

    /** One struct member: its C designator ({@code sq_off.head}) and the Java layout path to it. */
    private record Member(String struct, String designator, List<PathElement> path, MemoryLayout layout) {}

    @BeforeAll
    static void compileAndRunTheProbe() throws IOException, InterruptedException {
        assumeTrue(CProgram.gcc() != null, "gcc is not on the PATH: the ABI conformance test (C probe vs. generated bindings) is skipped");
        project = CProgram.project();
        assertThat(project.resolve("headers/fdkit.h")).exists();

        members = new ArrayList<>();
        STRUCTS.forEach((type, layout) -> collectMembers(type, layout, new ArrayList<>(), "", members));
        constants = constantsUsedByMain();
        handWritten = constantsUapiWritesOutByHand();

        String compileLog = CProgram.compile(work, "abi_probe", probeSource());
        measured = new HashMap<>();
        for (String line : CProgram.run(work, List.of(work.resolve("abi_probe").toString()), "abi_probe").split("\n")) {
            if (line.isBlank()) continue;
            int space = line.lastIndexOf(' ');
            measured.put(line.substring(0, space), Long.parseLong(line.substring(space + 1)));
        }
        assertThat(measured).as("probe output (gcc said: %s)", compileLog).isNotEmpty();
    }

    @TestFactory
    Stream<DynamicTest> everyStructLayoutMatchesGcc() {
        return STRUCTS.entrySet().stream().map(entry -> DynamicTest.dynamicTest(entry.getKey(), () -> {
            String type = entry.getKey();
            GroupLayout layout = entry.getValue();
            List<String> mismatches = new ArrayList<>();
            compare(mismatches, "sizeof(" + type + ")", layout.byteSize(), key(type, null, "sizeof"));
            compare(mismatches, "_Alignof(" + type + ")", layout.byteAlignment(), key(type, null, "alignof"));
            for (Member m : members) {
                if (!m.struct().equals(type)) continue;
                long offset = layout.byteOffset(m.path().toArray(PathElement[]::new));
                compare(mismatches, "offsetof(" + type + ", " + m.designator() + ")", offset, key(type, m.designator(), "offsetof"));
                if (!isFlexibleArray(m.layout())) {
                    compare(mismatches, "sizeof(((" + type + " *) 0)->" + m.designator() + ")", m.layout().byteSize(), key(type, m.designator(), "sizeof"));
                }
            }
            assertThat(mismatches).as("Java layout vs. gcc for %s", type).isEmpty();
        }));
    }

    @Test
    void siginfoFieldsReadByTheSyscallLayerSitWhereGlibcPutsThem() {
        List<String> mismatches = new ArrayList<>();
        SIGINFO_POSIX_FIELDS.forEach((name, path) -> {
            long offset = siginfo_t.layout().byteOffset(path.stream().map(PathElement::groupElement).toArray(PathElement[]::new));
            compare(mismatches, "offsetof(siginfo_t, " + name + ") via " + String.join(".", path), offset, key("siginfo_t", name, "posix"));
        });
        assertThat(mismatches).isEmpty();
    }

    @Test
    void rusageMaxRssSitsWhereGlibcPutsIt() {
        long offset = rusage.layout().byteOffset(javaPath(rusage.layout(), "ru_maxrss").toArray(PathElement[]::new));
        assertThat(offset).isEqualTo(measuredValue(key("struct rusage", "ru_maxrss", "offsetof")));
    }

    @TestFactory
    Stream<DynamicTest> everyConstantUsedByMainHasTheHeaderValue() {
        assertThat(constants).as("constants found in src/main/java").contains("EFD_CLOEXEC", "EPOLLIN", "SYS_pidfd_open");
        return constants.stream().map(name -> DynamicTest.dynamicTest(name, () -> {
            Method getter = fdkit_h.class.getMethod(name);
            Object value = getter.invoke(null);
            long c = measuredValue("const." + name);
            // C may hold it in a wider or unsigned type (EPOLLET is 1u << 31): compare the bits Java keeps,
            // and require that nothing was cut off.
            switch (value) {
                case Integer i -> {
                    assertThat(i).as("fdkit_h.%s() vs. C %s = %d", name, name, c).isEqualTo((int) c);
                    assertThat(c).as("%s fits in 32 bits", name).isIn((long) i, Integer.toUnsignedLong(i));
                }
                case Long l -> assertThat(l).as("fdkit_h.%s() vs. C %s", name, name).isEqualTo(c);
                case Short s -> assertThat(s).as("fdkit_h.%s()", name).isEqualTo((short) c);
                case Byte b -> assertThat(b).as("fdkit_h.%s()", name).isEqualTo((byte) c);
                case Character ch -> assertThat((long) ch).as("fdkit_h.%s()", name).isEqualTo(c);
                default -> throw new AssertionError("fdkit_h." + name + "() returns " + value.getClass() + ", not a number");
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> everyConstantUapiWritesOutByHandHasTheHeaderValue() {
        assertThat(handWritten).as("Uapi constants without an fdkit_h getter").containsKeys("LOCK_SH", "LOCK_EX", "LOCK_NB", "SEEK_END");
        return handWritten.entrySet().stream().map(entry -> DynamicTest.dynamicTest(entry.getKey(), () ->
                assertThat(entry.getValue()).as("Uapi.%s vs. C", entry.getKey()).isEqualTo((int) measuredValue("const." + entry.getKey()))));
    }

    @Test
    void mainCodeDoesNotHideConstantsBehindAWildcardImport() throws IOException {
        try (Stream<Path> files = javaSourcesOfMain()) {
            List<String> wildcard = files.filter(f -> {
                Matcher m = STATIC_IMPORT.matcher(read(f));
                while (m.find()) if (m.group(1).equals("*")) return true;
                return false;
            }).map(Path::toString).toList();
            assertThat(wildcard).as("`import static ...fdkit_h.*` would hide constants from this test").isEmpty();
        }
    }

    // ------------------------------------------------------------------ the C probe

    private static String probeSource() {
        StringBuilder c = new StringBuilder();
        c.append("""
                /* Generated by AbiConformanceTest: sizes, offsets and constants as this C compiler sees them. */
                #include "fdkit.h"
                #include <sys/file.h> /* LOCK_*: written out by hand in Uapi, not (yet) in fdkit.h */
                #include <stddef.h>
                #include <stdio.h>

                #define P(key, value) printf("%s %lld\\n", key, (long long) (value))

                static void constants(void) {
                """);
        for (String name : constants) c.append("    P(\"const.").append(name).append("\", ").append(name).append(");\n");
        for (String name : handWritten.keySet()) c.append("    P(\"const.").append(name).append("\", ").append(name).append(");\n");
        c.append("}\n\nstatic void posix_names(void) {\n");
        for (String name : SIGINFO_POSIX_FIELDS.keySet()) {
            c.append("    P(\"").append(key("siginfo_t", name, "posix")).append("\", offsetof(siginfo_t, ").append(name).append("));\n");
        }
        c.append("}\n\n/* Members are spelled as declared; glibc also defines some as macros (si_pid -> _sifields._kill.si_pid). */\n");
        Set<String> names = new TreeSet<>();
        for (Member m : members) names.addAll(List.of(m.designator().split("\\.")));
        for (String name : names) c.append("#ifdef ").append(name).append("\n#undef ").append(name).append("\n#endif\n");
        c.append("\nstatic void layouts(void) {\n");
        for (String type : STRUCTS.keySet()) {
            c.append("    P(\"").append(key(type, null, "sizeof")).append("\", sizeof(").append(type).append("));\n");
            c.append("    P(\"").append(key(type, null, "alignof")).append("\", _Alignof(").append(type).append("));\n");
        }
        for (Member m : members) {
            c.append("    P(\"").append(key(m.struct(), m.designator(), "offsetof")).append("\", offsetof(").append(m.struct()).append(", ")
                    .append(m.designator()).append("));\n");
            if (!isFlexibleArray(m.layout())) {
                c.append("    P(\"").append(key(m.struct(), m.designator(), "sizeof")).append("\", sizeof(((").append(m.struct()).append(" *) 0)->")
                        .append(m.designator()).append("));\n");
            }
        }
        c.append("}\n\nint main(void) {\n    constants();\n    posix_names();\n    layouts();\n    return 0;\n}\n");
        return c.toString();
    }

    /**
     * Every named member, depth first. Anonymous unions and structs (jextract names them {@code $anon$...})
     * are transparent in C, so they add a Java path element but no part to the C designator.
     */
    private static void collectMembers(String type, GroupLayout group, List<PathElement> path, String designator, List<Member> out) {
        for (MemoryLayout member : group.memberLayouts()) {
            if (member instanceof PaddingLayout) continue;
            String name = member.name().orElseThrow(() -> new AssertionError(type + " has an unnamed member " + member));
            List<PathElement> memberPath = new ArrayList<>(path);
            memberPath.add(PathElement.groupElement(name));
            boolean anonymous = name.startsWith("$anon$");
            String memberDesignator = anonymous ? designator : designator.isEmpty() ? name : designator + "." + name;
            if (!anonymous) out.add(new Member(type, memberDesignator, memberPath, member));
            if (member instanceof GroupLayout nested) collectMembers(type, nested, memberPath, memberDesignator, out);
        }
    }

    private static List<PathElement> javaPath(GroupLayout layout, String designator) {
        String type = STRUCTS.entrySet().stream().filter(e -> e.getValue() == layout).findFirst().orElseThrow().getKey();
        return members.stream().filter(m -> m.struct().equals(type) && m.designator().equals(designator)).findFirst()
                .orElseThrow(() -> new AssertionError(type + " has no member " + designator)).path();
    }

    /** {@code int big_cqe[]} and {@code __u8 cmd[0]}: sizeof is not defined (or 0) for these; offsetof is. */
    private static boolean isFlexibleArray(MemoryLayout layout) {
        return layout instanceof SequenceLayout s && s.elementCount() == 0;
    }

    private static void compare(List<String> mismatches, String what, long java, String key) {
        long c = measuredValue(key);
        if (java != c) mismatches.add(what + ": Java " + java + ", gcc " + c);
    }

    private static String key(String type, String designator, String what) {
        String struct = type.replace("struct ", "");
        return designator == null ? struct + "." + what : struct + "." + designator + "." + what;
    }

    private static long measuredValue(String key) {
        Long value = measured.get(key);
        if (value == null) throw new AssertionError("the C probe printed no " + key);
        return value;
    }

    // ------------------------------------------------------------------ constants used by src/main/java

    /** Every {@code fdkit_h.NAME()} (or statically imported NAME) in src/main/java that is a constant, not a function. */
    private static Set<String> constantsUsedByMain() throws IOException {
        Set<String> referenced = new TreeSet<>();
        try (Stream<Path> files = javaSourcesOfMain()) {
            files.forEach(file -> {
                String text = read(file);
                Matcher calls = CONSTANT_CALL.matcher(text);
                while (calls.find()) referenced.add(calls.group(1));
                Matcher imports = STATIC_IMPORT.matcher(text);
                while (imports.find()) if (!imports.group(1).equals("*")) referenced.add(imports.group(1));
            });
        }
        Set<String> result = new TreeSet<>();
        for (String name : referenced) {
            if (isConstant(name)) result.add(name);
        }
        return result;
    }

    /** Uapi's int constants that the generated bindings do not have, by name: Uapi writes their values out by hand. */
    private static Map<String, Integer> constantsUapiWritesOutByHand() {
        Map<String, Integer> result = new java.util.TreeMap<>();
        for (java.lang.reflect.Field field : Uapi.class.getFields()) {
            if (!Modifier.isStatic(field.getModifiers()) || field.getType() != int.class || isConstant(field.getName())) continue;
            try {
                result.put(field.getName(), field.getInt(null));
            } catch (IllegalAccessException e) {
                throw new AssertionError(e);
            }
        }
        return result;
    }

    /** jextract writes constants as public static no-argument getters; functions also get a {@code NAME$handle()}. */
    private static boolean isConstant(String name) {
        try {
            Method m = fdkit_h.class.getMethod(name);
            if (!Modifier.isStatic(m.getModifiers()) || !m.getReturnType().isPrimitive()) return false;
        } catch (NoSuchMethodException e) {
            return false;
        }
        try {
            fdkit_h.class.getMethod(name + "$handle");
            return false;
        } catch (NoSuchMethodException e) {
            return true;
        }
    }

    private static Stream<Path> javaSourcesOfMain() throws IOException {
        Path main = project.resolve("src/main/java");
        Path generated = main.resolve("dev/fdkit/internal/linux");
        return Files.walk(main).filter(p -> p.toString().endsWith(".java") && !p.startsWith(generated));
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
