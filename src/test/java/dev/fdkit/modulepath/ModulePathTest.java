package dev.fdkit.modulepath;

import dev.fdkit.ProcessDescriptor;
import dev.fdkit.ScenarioJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * fdkit as a user on the module path meets it (the rest of the suite runs on the class path): target/classes is the
 * module dev.fdkit, with only its API package exported and native access granted to it by name. A child JVM runs
 * {@link ModulePathUser} with {@code --module-path <classes> --add-modules dev.fdkit}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ModulePathTest {
    private static final Duration LIMIT = Duration.ofSeconds(40);
    private static final String RESTRICTED_WARNING = "WARNING: A restricted method in java.lang.foreign";

    private static List<String> onModulePath(String... more) throws Exception {
        Path classes = Path.of(ProcessDescriptor.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertThat(classes.resolve("module-info.class")).as("an exploded module").exists();
        return Stream.concat(Stream.of("--module-path", classes.toString(), "--add-modules", "dev.fdkit"), Stream.of(more)).toList();
    }

    @Test
    void theApiWorksFromTheModulePathWithNativeAccessGrantedToTheModule() throws Exception {
        ScenarioJvm.Result r = ScenarioJvm.run(ModulePathUser.class, LIMIT, onModulePath("--enable-native-access=dev.fdkit"));
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.value("module")).isEqualTo("dev.fdkit");
        assertThat(r.value("native.access")).isEqualTo("true");
        assertThat(r.value("exports.api")).isEqualTo("true");
        assertThat(r.value("exports.internal")).isEqualTo("false");
        assertThat(r.value("deep.reflection")).isEqualTo("refused InaccessibleObjectException");
        assertThat(r.value("exit")).isEqualTo("exited 5");
        assertThat(r.value("poll")).isEqualTo("1 7");
        assertThat(r.value("errno")).isEqualTo("ESRCH");
        assertThat(r.output()).doesNotContain(RESTRICTED_WARNING);
    }

    /** The README's advice: on the module path ALL-UNNAMED (which ScenarioJvm passes) does not cover fdkit; the JVM says so. */
    @Test
    void withoutNativeAccessForTheModuleTheJvmWarnsNamingIt() throws Exception {
        ScenarioJvm.Result r = ScenarioJvm.run(ModulePathUser.class, LIMIT, onModulePath());
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.value("native.access")).isEqualTo("false");
        assertThat(r.output()).contains(RESTRICTED_WARNING).contains("--enable-native-access=dev.fdkit");
        assertThat(r.value("exit")).isEqualTo("exited 5");
    }
}
