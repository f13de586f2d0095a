package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static dev.fdkit.Processes.await;
import static dev.fdkit.Processes.children;
import static dev.fdkit.Processes.fdCount;
import static dev.fdkit.Processes.fdCountSettlingTo;
import static dev.fdkit.Processes.readAll;
import static dev.fdkit.Processes.zombieChildren;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** ProcessDescriptor.startPipeline against real processes, and side by side with ProcessBuilder.startPipeline. */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProcessPipelineTest {

    private static List<ProcessBuilder> threeStages() {
        return List.of(new ProcessBuilder("printf", "pear\\napple\\npear\\nfig\\n"),
                new ProcessBuilder("sort"),
                new ProcessBuilder("uniq", "-c"));
    }

    @Test
    void threeStagesGiveWhatTheJdksPipelineGives() throws Exception {
        List<Process> jdk = ProcessBuilder.startPipeline(threeStages());
        String expected = readAll(jdk.getLast().getInputStream());
        for (Process p : jdk) {
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
            p.getOutputStream().close(); // the JDK leaves the first one's stdin pipe open until closed
        }

        List<ProcessDescriptor> ours = ProcessDescriptor.startPipeline(threeStages());
        try {
            assertThat(readAll(ours.getLast().stdout())).isEqualTo(expected).contains("2 pear");
            for (int i = 0; i < ours.size(); i++) {
                assertThat(await(ours.get(i).onExit(), 10).code()).isEqualTo(jdk.get(i).exitValue());
            }
            // Only the ends at the pipeline's edges are ours, as with the JDK's processes.
            assertThat(ours.getFirst().stdout().read()).isEqualTo(jdk.getFirst().getInputStream().read()).isEqualTo(-1);
        } finally {
            ours.forEach(ProcessDescriptor::close);
        }
    }

    @Test
    void redirectsAtTheEdgesAndOfEveryStderrAreHonoured(@TempDir Path dir) throws Exception {
        Path in = Files.writeString(dir.resolve("in"), "one\ntwo\n");
        Path out = dir.resolve("out");
        Path err = dir.resolve("err");
        List<ProcessDescriptor> pipeline = ProcessDescriptor.startPipeline(List.of(
                new ProcessBuilder("sh", "-c", "cat; echo middle-err >&2").redirectInput(in.toFile()).redirectError(err.toFile()),
                new ProcessBuilder("sh", "-c", "tr a-z A-Z; echo merged >&2").redirectErrorStream(true),
                new ProcessBuilder("cat").redirectOutput(out.toFile())));
        try {
            for (ProcessDescriptor p : pipeline) assertThat(await(p.onExit(), 10).code()).isZero();
            assertThat(Files.readString(out)).isEqualTo("ONE\nTWO\nmerged\n");
            assertThat(Files.readString(err)).isEqualTo("middle-err\n");
        } finally {
            pipeline.forEach(ProcessDescriptor::close);
        }
    }

    @Test
    void tenCatsPassOneMegabyte() throws Exception {
        byte[] data = new byte[1 << 20];
        new Random(14).nextBytes(data);
        List<ProcessBuilder> cats = Stream.generate(() -> new ProcessBuilder("cat")).limit(10).toList();
        List<ProcessDescriptor> pipeline = ProcessDescriptor.startPipeline(cats);
        try {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try (OutputStream stdin = pipeline.getFirst().stdin()) {
                    stdin.write(data);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, Thread::startVirtualThread);
            byte[] received = pipeline.getLast().stdout().readAllBytes();
            await(writer, 10);
            assertThat(Arrays.equals(received, data)).as("1 MiB through 10 cats, byte for byte").isTrue();
            for (ProcessDescriptor p : pipeline) assertThat(await(p.onExit(), 10).code()).isZero();
        } finally {
            pipeline.forEach(ProcessDescriptor::close);
        }
    }

    @Test
    void aStageThatCannotStartLeavesNoProcessAndNoDescriptor() throws Exception {
        List<Long> childrenBefore = children();
        int fdsBefore = fdCount();
        assertThatThrownBy(() -> ProcessDescriptor.startPipeline(List.of(
                new ProcessBuilder("sleep", "30"),
                new ProcessBuilder("/nonexistent/fdkit-no-such-program"),
                new ProcessBuilder("cat"))))
                .isInstanceOf(IOException.class).hasMessageContaining("/nonexistent/fdkit-no-such-program");
        assertThat(children()).as("the started sleep was killed and reaped").isEqualTo(childrenBefore);
        assertThat(zombieChildren()).isEmpty();
        assertThat(fdCountSettlingTo(fdsBefore)).as("every pipe closed").isEqualTo(fdsBefore);
    }

    @Test
    void intermediateRedirectsAreRejectedAsByTheJdkBeforeAnythingStarts(@TempDir Path dir) {
        List<Long> childrenBefore = children();
        Supplier<List<ProcessBuilder>> stdoutOfFirst =
                () -> List.of(new ProcessBuilder("true").redirectOutput(dir.resolve("x").toFile()), new ProcessBuilder("cat"));
        assertThatThrownBy(() -> ProcessBuilder.startPipeline(stdoutOfFirst.get())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ProcessDescriptor.startPipeline(stdoutOfFirst.get())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("builders[0].redirectOutput() must be PIPE except for the last builder: redirect to write to file");
        // Deliberately better than the JDK (25), which checks each builder only after starting the ones before it, and
        // on this IllegalArgumentException kills them but leaves their pipe ends open in the JVM (3 descriptors here).
        assertThatThrownBy(() -> ProcessDescriptor.startPipeline(List.of(new ProcessBuilder("true"), new ProcessBuilder("cat").redirectInput(Redirect.INHERIT))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("builders[1].redirectInput() must be PIPE except for the first builder: INHERIT");
        assertThat(children()).isEqualTo(childrenBefore);
        List<ProcessBuilder> withNull = new ArrayList<>(List.of(new ProcessBuilder("true")));
        withNull.add(null);
        assertThatThrownBy(() -> ProcessDescriptor.startPipeline(withNull)).isInstanceOf(NullPointerException.class).hasMessage("builders[1] is null");
    }

    @Test
    void theIntermediatePipesBelongToTheChildrenAlone() throws Exception {
        List<ProcessDescriptor> pipeline = ProcessDescriptor.startPipeline(List.of(new ProcessBuilder("cat"), new ProcessBuilder("cat")));
        try (ProcessDescriptor later = ProcessDescriptor.start(new ProcessBuilder("sleep", "30"))) {
            String pipe = Files.readSymbolicLink(Path.of("/proc/" + pipeline.getFirst().pid() + "/fd/1")).toString();
            assertThat(pipe).startsWith("pipe:");
            assertThat(Files.readSymbolicLink(Path.of("/proc/" + pipeline.getLast().pid() + "/fd/0")).toString()).isEqualTo(pipe);
            assertThat(LeakGuard.descriptorsLinkingTo(pipe)).as("our ends of " + pipe + " closed right after the spawns").isEmpty();
            try (Stream<Path> fds = Files.list(Path.of("/proc/" + later.pid() + "/fd"))) {
                List<String> laterFds = fds.map(f -> f.getFileName().toString()).sorted().toList();
                assertThat(laterFds).as("a later child inherits nothing of the pipeline").containsExactly("0", "1", "2");
            }
            later.kill();
            pipeline.getFirst().stdin().close(); // EOF flows down the pipeline
            for (ProcessDescriptor p : pipeline) assertThat(await(p.onExit(), 10).code()).isZero();
        } finally {
            pipeline.forEach(ProcessDescriptor::close);
        }
    }
}
