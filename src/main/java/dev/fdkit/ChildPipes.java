package dev.fdkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.Flow;

/**
 * Our ends of a child's stdin, stdout and stderr. A descriptor that is not a pipe of ours is one of the named
 * streams below, those of the JDK's ProcessBuilder.NullInputStream and NullOutputStream.
 */
final class ChildPipes {
    /** Reads nothing: read returns -1, available 0, also after close. */
    static final InputStream NOT_A_PIPE_IN = new InputStream() {
        @Override
        public int read() {
            return -1;
        }

        @Override
        public int available() {
            return 0;
        }
    };

    /** Refuses writes: nothing would read them. */
    static final OutputStream NOT_A_PIPE_OUT = new OutputStream() {
        @Override
        public void write(int b) throws IOException {
            throw new IOException("Stream closed: the child's stdin is not redirected to PIPE");
        }
    };

    /** A process we did not spawn: no pipes of ours. */
    static final ChildPipes NONE = new ChildPipes(NOT_A_PIPE_OUT, NOT_A_PIPE_IN, NOT_A_PIPE_IN);

    final OutputStream stdin; // a PipeWriter, or NOT_A_PIPE_OUT
    final InputStream stdout; // a PipeReader, or NOT_A_PIPE_IN
    final InputStream stderr;

    ChildPipes(OutputStream stdin, InputStream stdout, InputStream stderr) {
        this.stdin = stdin;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    Flow.Publisher<ByteBuffer> stdoutPublisher() {
        return publisher(stdout, "stdout");
    }

    Flow.Publisher<ByteBuffer> stderrPublisher() {
        return publisher(stderr, "stderr");
    }

    private static Flow.Publisher<ByteBuffer> publisher(InputStream pipe, String name) {
        if (pipe instanceof PipeReader reader) return reader;
        throw new IllegalStateException(name + " was not redirected to PIPE");
    }

    /** Closes our ends (Process.destroy() does so too); the named non-pipes need no closing. */
    void close() {
        if (stdin instanceof PipeWriter w) w.close();
        if (stdout instanceof PipeReader r) r.close();
        if (stderr instanceof PipeReader r) r.close();
    }
}
