package dev.fdkit;

import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.lang.foreign.MemorySegment;

/**
 * One epoll_wait's events, decoded, and how far dispatching has gone: a thread's unit of work. Its rest
 * moves to a new thread when a callback blocks on the shared poller ({@link SharedLoop}).
 */
final class PollBatch {
    private static final int MAX_EVENTS = 512;

    private final Poller poller;
    private final MemorySegment events = Syscalls.allocateEpollEvents(MAX_EVENTS);
    private final long[] tokens = new long[MAX_EVENTS];
    private final int[] masks = new int[MAX_EVENTS];
    private int next;
    private int count;
    Thread thread; // the shared poller's thread dispatching it; set before that thread starts
    PollerRegistration dispatching; // whose handler runs now, on this batch's thread

    PollBatch(Poller poller) {
        this.poller = poller;
    }

    boolean isDone() {
        return next == count;
    }

    /** epoll_wait into this batch; false if the epoll descriptor is closed. */
    boolean fill(int timeoutMillis) {
        int ready = poller.epollWait(events, MAX_EVENTS, timeoutMillis);
        if (ready < 0) return false;
        for (int i = 0; i < ready; i++) {
            tokens[i] = Syscalls.epollEventData(events, i);
            masks[i] = Syscalls.epollEventMask(events, i);
        }
        next = 0;
        count = ready;
        return true;
    }

    /** Runs the handlers of the events left, in order; returns how many ran. */
    int dispatch() {
        int handled = 0;
        while (next < count && !poller.isClosed()) {
            int i = next++;
            long token = tokens[i];
            if (token == Poller.WAKEUP_TOKEN) {
                poller.consumeWakeup();
                continue;
            }
            PollerRegistration r = poller.registration(token);
            if (r == null) continue;
            dispatching = r;
            try {
                if (r.dispatch(fromEpoll(masks[i]))) handled++;
            } finally {
                dispatching = null;
            }
        }
        return handled;
    }

    /** A new batch holding the events not dispatched yet; this one is done once its current handler returns. */
    PollBatch takeRest() {
        PollBatch rest = new PollBatch(poller);
        int left = count - next;
        System.arraycopy(tokens, next, rest.tokens, 0, left);
        System.arraycopy(masks, next, rest.masks, 0, left);
        rest.count = left;
        count = next;
        return rest;
    }

    /** Undoes {@link #takeRest()}: its events are this batch's again. */
    void putBack(PollBatch rest) {
        count = next + rest.count;
    }

    private static int fromEpoll(int epollEvents) {
        int events = 0;
        if ((epollEvents & Uapi.EPOLLIN) != 0) events |= Poller.READABLE;
        if ((epollEvents & Uapi.EPOLLOUT) != 0) events |= Poller.WRITABLE;
        if ((epollEvents & (Uapi.EPOLLHUP | Uapi.EPOLLRDHUP)) != 0) events |= Poller.HANGUP;
        if ((epollEvents & Uapi.EPOLLERR) != 0) events |= Poller.ERROR;
        return events;
    }
}
