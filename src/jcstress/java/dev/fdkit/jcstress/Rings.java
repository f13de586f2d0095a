package dev.fdkit.jcstress;

import dev.fdkit.CompletionRing;

import java.io.IOException;
import java.io.UncheckedIOException;

/** A small ring for the ring tests, and records whose fields can be checked for tearing. */
final class Rings {
    private Rings() {}

    /**
     * A ring of 2 slots whose positions have already wrapped once (head = tail = 1), so the slots the tests
     * use carry sequences from an earlier lap: a slot is told free or published by its sequence alone.
     */
    static CompletionRing wrapped() {
        CompletionRing ring = CompletionRing.allocate(2);
        offer(ring, 7);
        if (drainCode(ring) != 7) throw new IllegalStateException("ring did not return its first record");
        return ring;
    }

    /** Offers record {@code k}: every field is derived from k, so a torn read shows. */
    static boolean offer(CompletionRing ring, int k) {
        return ring.offer(k, 100L * k, -k, 1000L * k);
    }

    /** Grows {@code ring} to {@code capacity} (memory from allocate(): no I/O to fail). */
    static void grow(CompletionRing ring, int capacity) {
        try {
            ring.grow(capacity);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Drains everything: the records' k as decimal digits in order (0 for none, 9 for a torn record). */
    static int drainCode(CompletionRing ring) {
        int[] code = {0};
        ring.drain((cookie, obj, res, res2) -> {
            boolean whole = obj == 100 * cookie && res == -cookie && res2 == 1000 * cookie && cookie > 0 && cookie < 9;
            code[0] = code[0] * 10 + (whole ? (int) cookie : 9);
        }, 16);
        return code[0];
    }
}
