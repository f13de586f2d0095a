package dev.fdkit;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The in-flight table against a HashMap model: cookie uniqueness, lookups after backward-shift deletion, stale user_data. */
class UringSlotsTest {
    private static final Uring.CompletionHandler NONE = (cookie, res, flags) -> { };

    @Test
    void agreesWithAMapThroughRandomClaimsAndReleases() {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        UringSlots slots = new UringSlots(2, slot -> () -> { });
        Map<Long, Long> model = new HashMap<>(); // cookie -> user_data
        List<Long> retired = new ArrayList<>();
        for (int step = 0; step < 20_000; step++) {
            long cookie = random.nextInt(64) - 32; // few cookies: collisions, long probe runs, reuse
            if (random.nextBoolean()) {
                long userData = slots.claim(new Uring.Nop(cookie), NONE, null, -1);
                if (model.containsKey(cookie)) {
                    assertThat(userData).as("seed %d: cookie %d twice", seed, cookie).isZero();
                } else {
                    assertThat(userData).as("seed %d", seed).isPositive();
                    model.put(cookie, userData);
                }
            } else if (model.containsKey(cookie)) {
                long userData = model.remove(cookie);
                slots.release(slots.slotOf(userData));
                retired.add(userData);
            }
            assertThat(slots.size()).isEqualTo(model.size());
            for (long c = -32; c < 32; c++) assertThat(slots.userDataOf(c)).as("seed %d, cookie %d", seed, c).isEqualTo(model.getOrDefault(c, 0L));
        }
        for (long userData : retired) {
            if (!model.containsValue(userData)) assertThat(slots.slotOf(userData)).as("stale user_data %x", userData).isEqualTo(-1);
        }
        for (Map.Entry<Long, Long> e : model.entrySet()) assertThat(slots.cookie(slots.slotOf(e.getValue()))).isEqualTo(e.getKey());
    }
}
