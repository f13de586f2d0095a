package dev.fdkit;

import dev.fdkit.internal.Fd;
import dev.fdkit.internal.Uapi;

import java.util.Arrays;

/**
 * Completions a reap has read from the CQ, gathered so that one hold of the slot table's monitor looks up and
 * frees the slots of many (up to 64 at a time) before their handlers run, outside it: a batch of 32 NOPs takes
 * the monitor once, not 32 times.
 * <p>
 * Guarded by Uring's reapLock. A handler may reap again on its thread (the lock is reentrant): that reap gathers
 * above the entries being dispatched, as on a stack ({@link #begin()} / {@link #end(int)}), and dispatches its
 * own before returning. Completions keep their CQ order, so a multishot op's arrive in order.
 */
final class UringCompletions {
    private final UringSlots slots;
    private long[] userData = new long[64];
    private int[] res = new int[64];
    private int[] flags = new int[64];
    private long[] cookies = new long[64];
    private Uring.CompletionHandler[] handlers = new Uring.CompletionHandler[64];
    private Fd[] fds = new Fd[64];
    private Runnable[] hooks = new Runnable[64];
    private int top; // the next free entry
    private int base; // the first entry of the innermost reap in progress

    UringCompletions(UringSlots slots) {
        this.slots = slots;
    }

    /** Starts a reap: returns what {@link #end(int)} needs to restore the enclosing one's. */
    int begin() {
        int enclosing = base;
        base = top;
        return enclosing;
    }

    /** One CQE of the current reap; dispatches what is gathered first when there is no room. */
    void add(long userData, int res, int flags) {
        if (top == this.userData.length) dispatch();
        if (top == this.userData.length) grow(); // handlers nested in reaps hold every entry: only then

        this.userData[top] = userData;
        this.res[top] = res;
        this.flags[top] = flags;
        top++;
    }

    /** Ends a reap: dispatches what it gathered, then gives the entries back to the enclosing reap. */
    void end(int enclosing) {
        dispatch();
        base = enclosing;
    }

    private void grow() {
        int n = userData.length * 2;
        userData = Arrays.copyOf(userData, n);
        res = Arrays.copyOf(res, n);
        flags = Arrays.copyOf(flags, n);
        cookies = Arrays.copyOf(cookies, n);
        handlers = Arrays.copyOf(handlers, n);
        fds = Arrays.copyOf(fds, n);
        hooks = Arrays.copyOf(hooks, n);
    }

    /**
     * Looks up and frees, under one hold of the slots' monitor, the slots of the entries from {@code base} (a slot
     * is freed with its last completion, so a handler may submit the same cookie again), then releases their
     * descriptors and calls their handlers. A stale or foreign user_data is skipped (the close-time cancel-all,
     * a cancelled operation's late echo).
     */
    private void dispatch() {
        int from = base;
        int to = top;
        if (from == to) return;
        synchronized (slots) {
            for (int i = from; i < to; i++) {
                int slot = slots.slotOf(userData[i]);
                if (slot < 0) continue;
                cookies[i] = slots.cookie(slot);
                handlers[i] = slots.handler(slot);
                if ((flags[i] & Uapi.IORING_CQE_F_MORE) == 0) {
                    fds[i] = slots.fd(slot);
                    hooks[i] = slots.closeHook(slot);
                    slots.release(slot);
                }
            }
        }
        top = to; // a nested reap started by a handler below gathers above `to`, and ends before the next handler
        Error error = null; // an Error from one handler must not lose the others' completions: thrown at the end
        for (int i = from; i < to; i++) {
            Uring.CompletionHandler handler = handlers[i];
            Fd fd = fds[i];
            Runnable hook = hooks[i];
            handlers[i] = null; // no reference kept past the dispatch
            fds[i] = null;
            hooks[i] = null;
            Uring.releaseTarget(fd, hook);
            if (handler == null) continue;
            try {
                handler.onCompletion(cookies[i], res[i], flags[i]);
            } catch (RuntimeException e) {
                System.getLogger("dev.fdkit.Uring").log(System.Logger.Level.WARNING, "completion handler threw", e);
            } catch (Error e) {
                if (error == null) error = e;
            }
        }
        base = from;
        top = from;
        if (error != null) throw error;
    }
}
