package dev.fdkit.vertx;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.parsetools.RecordParser;

import java.nio.ByteBuffer;
import java.util.concurrent.Flow;

/**
 * The README's Vert.x glue: an fdkit process's output lines delivered on a Vert.x context, one chunk at a time
 * (the next chunk is asked for once the context has handled this one, so a slow context slows the pipe, not the
 * heap). The exit needs no glue: {@code Future.fromCompletionStage(child.onExit(), context)}.
 */
// README begin
final class FdkitVertx {
    private FdkitVertx() {}

    /** Splits {@code output} into lines run through {@code onLine} on {@code context}; completes there at EOF. */
    static Future<Void> linesOn(Context context, Flow.Publisher<ByteBuffer> output, Handler<Buffer> onLine) {
        Promise<Void> end = Promise.promise();
        RecordParser lines = RecordParser.newDelimited("\n", onLine);
        output.subscribe(new Flow.Subscriber<>() {
            private Flow.Subscription subscription;

            @Override public void onSubscribe(Flow.Subscription s) { subscription = s; s.request(1); }

            @Override public void onNext(ByteBuffer chunk) { // on fdkit's poller thread: copy, then hop to the context
                byte[] bytes = new byte[chunk.remaining()];
                chunk.get(bytes);
                context.runOnContext(v -> { lines.handle(Buffer.buffer(bytes)); subscription.request(1); });
            }

            @Override public void onError(Throwable failure) { context.runOnContext(v -> end.fail(failure)); }

            @Override public void onComplete() { context.runOnContext(v -> end.complete()); }
        });
        return end.future();
    }
}
// README end
