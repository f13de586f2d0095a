package dev.fdkit.reactor;

import dev.fdkit.ProcessDescriptor;
import dev.fdkit.SpawnOption;
import org.reactivestreams.tck.TestEnvironment;
import org.reactivestreams.tck.flow.FlowPublisherVerification;
import org.testng.annotations.AfterClass;
import org.testng.annotations.AfterMethod;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Flow;

/**
 * The Reactive Streams TCK against a child's stdout or stderr publisher. The TCK needs a publisher of
 * exactly {@code n} items; a pipe has no item boundaries, so the child writes item k+1 only after it is told
 * on stdin that item k was delivered: each read then finds exactly one byte. The subscriber the TCK
 * passes in is wrapped only to send that acknowledgement after each onNext; the subscription it receives
 * is fdkit's own, so request and cancel are tested on fdkit's code.
 */
abstract class PipePublisherTck extends FlowPublisherVerification<ByteBuffer> {
    private final List<ProcessDescriptor> children = new ArrayList<>();

    PipePublisherTck() {
        // 500 ms for an expected signal (a spawn on a loaded machine), 50 ms to confirm the absence of one,
        // 300 ms (the TCK's default) for the subscriber to be collectable after cancel
        super(new TestEnvironment(500, 50), 300);
    }

    /** The publisher under test: the child's stdout or stderr. */
    abstract Flow.Publisher<ByteBuffer> publisherOf(ProcessDescriptor child);

    /** Shell redirection sending the script's printf to the stream under test. */
    abstract String redirection();

    @Override
    public long maxElementsFromPublisher() {
        return 64; // one shell round trip per item; rules needing Long.MAX_VALUE items are skipped by the TCK
    }

    @Override
    public Flow.Publisher<ByteBuffer> createFlowPublisher(long elements) {
        String script = "i=0; while [ $i -lt " + elements + " ]; do [ $i -gt 0 ] && read _; printf x" + redirection()
                + "; i=$((i+1)); done";
        ProcessDescriptor child = start(script);
        Flow.Publisher<ByteBuffer> pipe = publisherOf(child);
        return subscriber -> pipe.subscribe(new Acknowledging(subscriber, child));
    }

    @Override
    public Flow.Publisher<ByteBuffer> createFailedFlowPublisher() {
        ProcessDescriptor child = start("true");
        try {
            (redirection().isEmpty() ? child.stdout() : child.stderr()).readAllBytes(); // the stream owns the pipe now
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return publisherOf(child); // so a subscriber is refused: onSubscribe, then onError(IllegalStateException)
    }

    private ProcessDescriptor start(String script) {
        try {
            ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", script), SpawnOption.KILL_ON_CLOSE);
            synchronized (children) {
                children.add(child);
            }
            return child;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterMethod
    @AfterClass
    public void closeChildren() throws InterruptedException {
        List<ProcessDescriptor> all;
        synchronized (children) {
            all = List.copyOf(children);
            children.clear();
        }
        for (ProcessDescriptor child : all) {
            child.close();
            child.waitFor();
        }
    }

    /** Forwards every signal unchanged; after each onNext, tells the child to write the next item. */
    private record Acknowledging(Flow.Subscriber<? super ByteBuffer> target, ProcessDescriptor child)
            implements Flow.Subscriber<ByteBuffer> {
        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            target.onSubscribe(subscription);
        }

        @Override
        public void onNext(ByteBuffer item) {
            target.onNext(item);
            try {
                child.stdin().write('\n');
                child.stdin().flush();
            } catch (IOException e) {
                // the child has exited or been closed: nothing more to acknowledge
            }
        }

        @Override
        public void onError(Throwable error) {
            target.onError(error);
        }

        @Override
        public void onComplete() {
            target.onComplete();
        }
    }
}
