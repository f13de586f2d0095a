package dev.fdkit.reactor;

import dev.fdkit.ProcessDescriptor;

import java.nio.ByteBuffer;
import java.util.concurrent.Flow;

/** The Reactive Streams TCK on {@link ProcessDescriptor#stderrPublisher()}. */
public class StderrPublisherTckTest extends PipePublisherTck {
    @Override
    Flow.Publisher<ByteBuffer> publisherOf(ProcessDescriptor child) {
        return child.stderrPublisher();
    }

    @Override
    String redirection() {
        return " >&2";
    }
}
