package dev.fdkit;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Arrows point down only (ARCHITECTURE.md): generated bindings <- syscall layer <- object model <- CLI.
 * The main classes only (the directory Linux.class was loaded from): tests and benchmarks may reach into any layer.
 */
class LayeringTest {
    private static JavaClasses main;

    @BeforeAll
    static void importMainClasses() throws Exception {
        main = new ClassFileImporter().importPath(Path.of(Linux.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
    }

    @Test
    void eachLayerUsesOnlyTheLayerBelowIt() {
        layeredArchitecture().consideringAllDependencies()
                .layer("CLI").definedBy("dev.fdkit.cli..")
                .layer("Object model").definedBy("dev.fdkit")
                .layer("Syscall layer").definedBy("dev.fdkit.internal")
                .layer("Generated bindings").definedBy("dev.fdkit.internal.linux..")
                .whereLayer("CLI").mayNotBeAccessedByAnyLayer()
                .whereLayer("Object model").mayOnlyBeAccessedByLayers("CLI")
                .whereLayer("Syscall layer").mayOnlyBeAccessedByLayers("Object model")
                .whereLayer("Generated bindings").mayOnlyBeAccessedByLayers("Syscall layer")
                .check(main);
    }

    @Test
    void theImportSawEveryLayer() { // a rule over an empty or partial import would pass whatever the code did
        for (String p : new String[] {"dev.fdkit", "dev.fdkit.internal", "dev.fdkit.internal.linux", "dev.fdkit.cli"}) {
            assertThat(main.containPackage(p)).as(p).isTrue();
        }
    }
}
