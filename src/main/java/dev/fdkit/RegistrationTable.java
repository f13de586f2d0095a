package dev.fdkit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A poller's registrations by slot. epoll data carries (sequence << 32 | slot), so a stale event for a slot
 * that has been reused since never reaches the new registration. Lookups by token take no lock.
 */
final class RegistrationTable {
    private final ReentrantLock lock = new ReentrantLock();
    private volatile AtomicReferenceArray<PollerRegistration> slots = new AtomicReferenceArray<>(64);
    private int[] freeSlots = new int[0];
    private int freeCount;
    private int nextUnusedSlot;
    private int liveCount;
    private int sequence;

    /** Gives {@code r} a slot and its token; {@code checkOpen} runs under the lock first, so close() lists it or refuses it. */
    void add(PollerRegistration r, Runnable checkOpen) {
        lock.lock();
        try {
            checkOpen.run();
            int slot;
            if (freeCount > 0) {
                slot = freeSlots[--freeCount];
            } else {
                slot = nextUnusedSlot++;
                if (slot == slots.length()) {
                    AtomicReferenceArray<PollerRegistration> bigger = new AtomicReferenceArray<>(slot * 2);
                    for (int i = 0; i < slot; i++) bigger.set(i, slots.get(i));
                    slots = bigger;
                }
            }
            r.token = ((long) (++sequence & 0x7fff_ffff) << 32) | slot;
            slots.set(slot, r);
            liveCount++;
        } finally {
            lock.unlock();
        }
    }

    void remove(PollerRegistration r) {
        lock.lock();
        try {
            int slot = (int) r.token;
            if (slots.get(slot) != r) return;
            slots.set(slot, null);
            if (freeCount == freeSlots.length) freeSlots = Arrays.copyOf(freeSlots, Math.max(16, freeCount * 2));
            freeSlots[freeCount++] = slot;
            liveCount--;
        } finally {
            lock.unlock();
        }
    }

    /** The registration an event's token names, or null if it has been cancelled (and its slot perhaps reused). */
    PollerRegistration get(long token) {
        PollerRegistration r = slots.get((int) token);
        return r != null && r.token == token ? r : null;
    }

    int size() {
        lock.lock();
        try {
            return liveCount;
        } finally {
            lock.unlock();
        }
    }

    List<PollerRegistration> live() {
        lock.lock();
        try {
            List<PollerRegistration> live = new ArrayList<>(liveCount);
            for (int i = 0; i < nextUnusedSlot; i++) {
                PollerRegistration r = slots.get(i);
                if (r != null) live.add(r);
            }
            return live;
        } finally {
            lock.unlock();
        }
    }
}
