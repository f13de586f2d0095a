package dev.fdkit;

import java.nio.file.Path;

/**
 * The producer JVM of {@code CompletionRingTest.producerInAnotherJvmFeedsTheConsumerThroughAMappedFile}:
 * opens the ring file and offers {@code count} records {cookie=COOKIE, obj=i, res=3i, res2=-i}, spinning
 * (then yielding) while the ring is full. Exits 0 when all were offered, 1 if the consumer stalled.
 */
public final class RingProducerPeer {
    static final long COOKIE = 0x5EED;

    private RingProducerPeer() {}

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        int count = Integer.parseInt(args[1]);
        long deadline = System.nanoTime() + Long.parseLong(args[2]) * 1_000_000_000L;
        try (CompletionRing ring = CompletionRing.open(file)) {
            for (int i = 0; i < count; i++) {
                int spins = 0;
                while (!ring.offer(COOKIE, i, 3L * i, -i)) {
                    if (++spins < 100) {
                        Thread.onSpinWait();
                    } else {
                        if (System.nanoTime() > deadline) {
                            System.err.println("RingProducerPeer: the ring stayed full at record " + i);
                            System.exit(1);
                        }
                        Thread.yield();
                    }
                }
            }
            System.out.println("RingProducerPeer: offered " + count);
        }
        System.exit(0);
    }

    /** Checks that records arrive as this peer offers them, in order; {@link #error()} names the first that did not. */
    static final class InOrder implements CompletionRing.Handler {
        volatile long next;
        private volatile String error;

        @Override
        public void onCompletion(long cookie, long obj, long res, long res2) {
            if (error == null && (cookie != COOKIE || obj != next || res != 3 * obj || res2 != -obj)) {
                error = "expected record " + next + ", got cookie=" + cookie + " obj=" + obj + " res=" + res + " res2=" + res2;
            }
            next++;
        }

        String error() {
            return error;
        }
    }
}
