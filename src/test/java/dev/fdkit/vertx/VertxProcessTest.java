package dev.fdkit.vertx;

import dev.fdkit.ExitStatus;
import dev.fdkit.ProcessDescriptor;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** A child process's exit and output lines delivered on a Vert.x 5 context through {@link FdkitVertx} (the README's glue). */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class VertxProcessTest {
    private final Vertx vertx = Vertx.vertx();

    @AfterEach
    void closeVertx() throws Exception {
        vertx.close().await(10, TimeUnit.SECONDS);
    }

    @Test
    void exitAndOutputLinesRunOnTheContext() throws Exception {
        Context context = vertx.getOrCreateContext();
        Set<Object> contextsSeen = ConcurrentHashMap.newKeySet(); // Vertx.currentContext() in every callback
        List<String> lines = new CopyOnWriteArrayList<>();
        // README begin
        // the child starts writing (and can exit) only once stdin closes: every callback is attached by then
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "read go; seq 1 20000"))) {
            Future<Void> output = FdkitVertx.linesOn(context, child.stdoutPublisher(), line -> {
                contextsSeen.add(Vertx.currentContext());
                lines.add(line.toString());
            });
            Future<ExitStatus> exit = Future.fromCompletionStage(child.onExit(), context) // completes on the context
                    .onComplete(status -> contextsSeen.add(Vertx.currentContext()));
            child.stdin().close();
            Future.all(output, exit).await(10, TimeUnit.SECONDS);
            assertThat(exit.result()).hasToString("exited 0");
        }
        // README end
        assertThat(lines).isEqualTo(IntStream.rangeClosed(1, 20000).mapToObj(Integer::toString).collect(Collectors.toList()));
        assertThat(contextsSeen).containsExactly(context);
    }

    @Test
    void aFailingChildsExitCodeArrivesOnTheContext() throws Exception {
        Context context = vertx.getOrCreateContext();
        Thread contextThread = Future.<Thread>future(p -> context.runOnContext(v -> p.complete(Thread.currentThread()))).await(10, TimeUnit.SECONDS);
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "read line; exit 7"))) {
            Future<Thread> ranOn = Future.fromCompletionStage(child.onExit(), context)
                    .map(status -> {
                        assertThat(status.code()).isEqualTo(7);
                        assertThat(Vertx.currentContext()).isSameAs(context);
                        return Thread.currentThread();
                    });
            child.stdin().close(); // exits after the callback is attached: fdkit completes it on its poller thread
            assertThat(ranOn.await(10, TimeUnit.SECONDS)).isSameAs(contextThread);
        }
    }
}
