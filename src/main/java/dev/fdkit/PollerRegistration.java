package dev.fdkit;

import dev.fdkit.internal.Fd;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Uapi;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What a {@link Poller.Registration} is behind its public methods: one interest of one descriptor in a poller,
 * its cancel-once, and the hand-over of its events while its handler blocks on a thread that passed the shared
 * loop on (pending events, and a level-triggered one muted out of epoll meanwhile; see the Poller class comment).
 */
final class PollerRegistration {
    private static final System.Logger LOG = System.getLogger("dev.fdkit.Poller");

    private final Poller poller;
    private final Poller.Registration api;
    private final Pollable target;
    private final Fd owned; // null for a foreign Pollable
    private final Fd registered; // what epoll holds: owned, or for a ProcessDescriptor a duplicate of its pidfd
    private final int foreignFd;
    private final Poller.Trigger trigger;
    private final Poller.Handler handler;
    private final ReentrantLock dispatchLock = new ReentrantLock();
    private final Runnable closeHook; // null for a foreign Pollable: nothing of ours to close it
    private final AtomicBoolean cancelled = new AtomicBoolean();
    // Events that arrived while the handler ran on another thread (one that blocked: see the Poller class comment).
    private final AtomicInteger pendingEvents = new AtomicInteger();
    private volatile boolean muted; // out of epoll while its level-triggered handler blocks; set under dispatchLock
    private volatile int interest;
    long token; // epoll data: (sequence << 32 | slot), set by the RegistrationTable

    PollerRegistration(Poller poller, Pollable target, Poller.Trigger trigger, Poller.Handler handler, int events) {
        this.poller = poller;
        this.target = target;
        this.owned = Descriptors.of(target);
        this.closeHook = owned == null ? null : () -> cancel(true);
        this.registered = Descriptors.watchedByFdkit(target) ? duplicate(owned) : owned;
        this.foreignFd = owned == null ? target.fd() : -1;
        if (owned == null && foreignFd < 0) throw new IllegalArgumentException("target.fd() must be an open descriptor (0 or more), was " + foreignFd + " for " + target);
        this.trigger = trigger;
        this.handler = handler;
        this.interest = events;
        this.api = poller.new Registration(this);
    }

    /** The public face handed to the user and to the handler. */
    Poller.Registration api() {
        return api;
    }

    Pollable target() {
        return target;
    }

    int events() {
        return interest;
    }

    boolean isActive() {
        return !cancelled.get();
    }

    /** After the descriptor joined epoll: cancel with the target's close. False if the target is closed already. */
    boolean hookTargetClose() {
        return owned == null || owned.addCloseHook(closeHook);
    }

    /** For a registration cancelled before its close hook was added: take the hook out again. */
    void unhookTargetClose() {
        if (owned != null) owned.removeCloseHook(closeHook);
    }

    void modify(int events) {
        if (cancelled.get()) throw new IllegalStateException("registration is cancelled");
        int fd = acquireTarget();
        if (fd < 0) throw new IllegalStateException(target + " is closed");
        try {
            interest = events;
            poller.epollCtl(Uapi.EPOLL_CTL_MOD, fd, epollEvents(events), token);
        } catch (SyscallException e) {
            // ENOENT when a concurrent cancel() took the descriptor out after the check above
            if (cancelled.get()) throw new IllegalStateException("registration is cancelled");
            if (muted) return; // out of epoll while its handler blocks: it rejoins with `interest`
            throw ErrnoException.unchecked(e);
        } finally {
            releaseTarget();
        }
    }

    /** {@link Poller.Registration#cancel()}: when it returns the handler is not running (unless the caller is that handler). */
    void cancel() {
        cancel(false);
    }

    /**
     * @param closing true when called by the target's Fd.close(): the number is still ours (close
     *                holds a use while its hooks run) although tryAcquire already fails
     */
    private void cancel(boolean closing) {
        if (!cancelled.compareAndSet(false, true)) return;
        if (owned != null && !closing) owned.removeCloseHook(closeHook);
        boolean borrowed = !(closing && registered == owned); // closing: owned's number is still ours, unacquired
        int fd = borrowed ? acquireTarget() : owned.number();
        if (fd >= 0) {
            try {
                poller.removeIfOpen(fd);
            } finally {
                if (borrowed) releaseTarget();
            }
        }
        if (!dispatchLock.isHeldByCurrentThread()) {
            if (dispatchLock.isLocked()) SharedLoop.beforeBlocking(); // a handler running on another thread: wait for it
            dispatchLock.lock();
            dispatchLock.unlock();
        }
        closeDuplicate();
        poller.forget(this);
    }

    /**
     * A duplicate of a descriptor fdkit watches itself ({@link Descriptors#watchedByFdkit}), closed with the
     * registration: the user's interest and fdkit's then never collide (EEXIST).
     */
    private static Fd duplicate(Fd descriptor) {
        try {
            Fd d = descriptor.duplicate("registration of " + descriptor);
            return d != null ? d : descriptor; // closed: register() reports it
        } catch (SyscallException e) {
            throw ErrnoException.unchecked(e);
        }
    }

    void closeDuplicate() {
        if (registered != owned) registered.close();
    }

    /**
     * Runs the handler for {@code events}, or leaves them to the thread running it already: that happens
     * only while a handler blocks on a thread that handed the loop on, and that thread runs them once its
     * handler returns. Returns whether the handler ran here.
     */
    boolean dispatch(int events) {
        boolean ran = false;
        int ready = events;
        for (;;) {
            if (!dispatchLock.tryLock()) {
                if (ready != 0) pendingEvents.getAndAccumulate(ready, (a, b) -> a | b);
                ready = 0;
                // Taken again after storing: then the holder has unlocked, and may have looked at
                // pendingEvents before our store, so they are ours to run. Failed: it looks after unlocking.
                if (!dispatchLock.tryLock()) return ran;
            }
            try {
                if (pendingEvents.get() != 0) ready |= pendingEvents.getAndSet(0);
                if (ready != 0 && !cancelled.get()) {
                    ran = true;
                    runHandler(ready);
                }
                ready = 0;
            } finally {
                if (muted) rejoinEpoll();
                dispatchLock.unlock();
            }
            if (pendingEvents.get() == 0) return ran;
        }
    }

    private void runHandler(int events) {
        FdkitEvents.PollerStall stall = FdkitEvents.recorderStarted() ? new FdkitEvents.PollerStall() : null;
        if (stall != null) stall.begin();
        try {
            handler.onReady(api, events);
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.WARNING, "handler of " + target + " threw", t);
        }
        if (stall == null) return;
        stall.end();
        if (stall.shouldCommit()) {
            stall.registration = toString();
            stall.commit();
        }
    }

    /** The handler is about to block on the loop thread (under dispatchLock): level-triggered, it leaves epoll meanwhile. */
    void muteWhileBlocked() {
        if (trigger != Poller.Trigger.LEVEL || muted || cancelled.get()) return;
        int fd = acquireTarget();
        if (fd < 0) return;
        try {
            poller.epollCtl(Uapi.EPOLL_CTL_DEL, fd, 0, 0);
            muted = true;
        } catch (SyscallException | IllegalStateException e) {
            // gone already (closed or cancelled): nothing to mute
        } finally {
            releaseTarget();
        }
    }

    /** Under dispatchLock, after a muted handler returned: back into epoll, unless cancel() ran meanwhile. */
    private void rejoinEpoll() {
        muted = false;
        if (cancelled.get()) return;
        int fd = acquireTarget();
        if (fd < 0) return;
        try {
            poller.epollCtl(Uapi.EPOLL_CTL_ADD, fd, epollEvents(interest), token);
            // cancel() sets `cancelled` before its EPOLL_CTL_DEL: seen clear here, its DEL comes after our ADD
            if (cancelled.get()) poller.epollCtl(Uapi.EPOLL_CTL_DEL, fd, 0, 0);
        } catch (SyscallException | IllegalStateException e) {
            LOG.log(System.Logger.Level.WARNING, "could not re-register " + target + " after its handler blocked", e);
        } finally {
            releaseTarget();
        }
    }

    int acquireTarget() {
        return registered != null ? registered.tryAcquire() : foreignFd;
    }

    void releaseTarget() {
        if (registered != null) registered.release();
    }

    int epollEvents(int events) {
        int e = 0;
        if ((events & Poller.READABLE) != 0) e |= Uapi.EPOLLIN;
        if ((events & Poller.WRITABLE) != 0) e |= Uapi.EPOLLOUT;
        if ((events & Poller.HANGUP) != 0) e |= Uapi.EPOLLRDHUP;
        if (trigger == Poller.Trigger.EDGE) e |= Uapi.EPOLLET;
        if (trigger == Poller.Trigger.ONE_SHOT) e |= Uapi.EPOLLONESHOT;
        return e;
    }

    @Override
    public String toString() {
        return "Registration(" + target + ", events=0x" + Integer.toHexString(interest) + ", " + trigger + (isActive() ? "" : ", cancelled") + ")";
    }
}
