package dev.fdkit;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's framework glue is copied from compiled tests: every block between {@code // README begin} and
 * {@code // README end} in src/test/java appears in README.md verbatim, its common indentation removed.
 */
class ReadmeExamplesTest {
    @Test
    void everyMarkedTestBlockIsInTheReadme() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        List<Path> sources;
        try (Stream<Path> files = Files.walk(Path.of("src/test/java"))) {
            sources = files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
        }
        List<String> blocks = new ArrayList<>();
        for (Path source : sources) blocks.addAll(markedBlocks(Files.readAllLines(source)));
        assertThat(blocks).as("marked blocks (Reactor, Netty, Vert.x)").hasSizeGreaterThanOrEqualTo(4);
        for (String block : blocks) assertThat(readme).as("README.md").contains(block);
    }

    private static List<String> markedBlocks(List<String> lines) {
        List<String> blocks = new ArrayList<>();
        List<String> block = null;
        for (String line : lines) {
            String trimmed = line.strip();
            if (trimmed.equals("// README begin")) block = new ArrayList<>();
            else if (trimmed.equals("// README end") && block != null) {
                int indent = block.stream().filter(l -> !l.isBlank()).mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
                blocks.add(String.join("\n", block.stream().map(l -> l.isBlank() ? "" : l.substring(indent)).toList()) + "\n");
                block = null;
            } else if (block != null) block.add(line);
        }
        return blocks;
    }
}
