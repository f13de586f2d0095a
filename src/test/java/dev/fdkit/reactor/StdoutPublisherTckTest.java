package dev.fdkit.reactor;

import dev.fdkit.ProcessDescriptor;

import java.nio.ByteBuffer;
import java.util.concurrent.Flow;

/** The Reactive Streams TCK (run by the JUnit Platform's TestNG engine) on {@link ProcessDescriptor#stdoutPublisher()}. */
public class StdoutPublisherTckTest extends PipePublisherTck {
    @Override
    Flow.Publisher<ByteBuffer> publisherOf(ProcessDescriptor child) {
        return child.stdoutPublisher();
    }

    @Override
    String redirection() {
        return "";
    }
}
