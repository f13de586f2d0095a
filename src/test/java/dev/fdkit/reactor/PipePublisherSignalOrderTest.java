package dev.fdkit.reactor;

import dev.fdkit.LeakGuard;
import dev.fdkit.ProcessDescriptor;
import dev.fdkit.SpawnOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Signals of a pipe publisher never overlap (Reactive Streams rule 1.3), also when the error comes from a
 * request on another thread (rule 3.9) while the poller thread is inside onNext.
 */
@ExtendWith(LeakGuard.class)
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class PipePublisherSignalOrderTest {
    @Test
    void anIllegalRequestDuringOnNextIsSignalledAfterOnNextReturns() throws Exception {
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("echo", "x"), SpawnOption.KILL_ON_CLOSE)) {
            CountDownLatch inOnNext = new CountDownLatch(1);
            CountDownLatch leaveOnNext = new CountDownLatch(1);
            CompletableFuture<Flow.Subscription> subscription = new CompletableFuture<>();
            CompletableFuture<Throwable> error = new CompletableFuture<>();
            List<String> signals = new CopyOnWriteArrayList<>();
            child.stdoutPublisher().subscribe(new Flow.Subscriber<>() {
                private volatile boolean inside;

                @Override
                public void onSubscribe(Flow.Subscription s) {
                    signals.add("onSubscribe");
                    subscription.complete(s);
                }

                @Override
                public void onNext(ByteBuffer item) {
                    inside = true;
                    signals.add("onNext");
                    inOnNext.countDown();
                    try {
                        leaveOnNext.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    inside = false;
                }

                @Override
                public void onError(Throwable t) {
                    signals.add(inside ? "onError during onNext" : "onError");
                    error.complete(t);
                }

                @Override
                public void onComplete() {
                    signals.add("onComplete");
                }
            });
            Flow.Subscription s = subscription.get(5, TimeUnit.SECONDS);
            s.request(5);
            assertThat(inOnNext.await(5, TimeUnit.SECONDS)).isTrue();
            s.request(0); // illegal: must end in onError, but only once onNext has returned
            leaveOnNext.countDown();
            assertThat(error.get(5, TimeUnit.SECONDS)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3.9");
            child.waitFor();
            assertThat(signals).as("serial, one terminal signal").containsExactly("onSubscribe", "onNext", "onError");
        }
    }
}
