package dev.fdkit.internal;


import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A descriptor number with close-once and use-count semantics.
 * <p>
 * Every syscall on the number runs between {@link #acquire()} and {@link #release()}. {@link #close()}
 * marks the descriptor closed at once (later acquires fail) but the close(2) itself runs when the last
 * use is released, so no syscall ever runs on a number the kernel may already have handed out again.
 * State is one int: the sign bit says "closed", the rest counts uses in progress.
 */
public final class Fd {
    private static volatile java.lang.ref.Cleaner cleaner;

    /**
     * fdkit's one Cleaner: the backstop that closes what a leaked owner never closed (close() is the path).
     * Created on first use, not in a static initialiser: its thread may not start (RLIMIT_NPROC reached,
     * clone3 refused by seccomp), and a failed initialiser would make this class unusable for good.
     *
     * @throws OutOfMemoryError if no thread can be started for it now
     */
    public static java.lang.ref.Cleaner cleaner() {
        java.lang.ref.Cleaner c = cleaner;
        return c != null ? c : createCleaner();
    }

    private static synchronized java.lang.ref.Cleaner createCleaner() {
        if (cleaner == null) cleaner = java.lang.ref.Cleaner.create();
        return cleaner;
    }

    private static final int CLOSED = Integer.MIN_VALUE;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Fd.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int number;
    private final String owner;
    private Runnable[] closeHooks; // guarded by this; rarely more than one
    @SuppressWarnings("unused") // accessed through STATE
    private volatile int state;

    /** Takes ownership of an open descriptor; {@code owner} names it in error messages ("EventFd"). */
    public Fd(int number, String owner) {
        if (number < 0) throw new IllegalArgumentException("fd must be >= 0, was " + number);
        this.number = number;
        this.owner = owner;
    }

    /** Starts a use: returns the number, valid until the matching {@link #release()}. */
    public int acquire() {
        for (;;) {
            int s = (int) STATE.getVolatile(this);
            if (s < 0) throw closedException();
            if (STATE.compareAndSet(this, s, s + 1)) return number;
        }
    }

    /** Like {@link #acquire()} but returns -1 instead of throwing when closed. */
    public int tryAcquire() {
        for (;;) {
            int s = (int) STATE.getVolatile(this);
            if (s < 0) return -1;
            if (STATE.compareAndSet(this, s, s + 1)) return number;
        }
    }

    /** Ends a use; the last use after {@link #close()} closes the descriptor. */
    public void release() {
        int s = (int) STATE.getAndAdd(this, -1) - 1;
        if (s == CLOSED) closeNow();
    }

    /**
     * Marks the descriptor closed; returns false if it already was. The close(2) happens now, or when the
     * last use in progress ends.
     */
    public boolean close() {
        for (;;) {
            int s = (int) STATE.getVolatile(this);
            if (s < 0) return false;
            if (STATE.compareAndSet(this, s, (s + 1) | CLOSED)) { // one more use, held while the hooks run
                runCloseHooks();
                release(); // the use the hooks ran under: the close(2) waits for them
                return true;
            }
        }
    }

    /**
     * Runs {@code hook} when this descriptor is closed, before close(2), while the number is still ours
     * (a poller uses it to take the descriptor out of its epoll set). Returns false, and does not keep
     * the hook, if the descriptor is already closed.
     */
    public synchronized boolean addCloseHook(Runnable hook) {
        if (isClosed()) return false;
        Runnable[] hooks = closeHooks == null ? new Runnable[1] : java.util.Arrays.copyOf(closeHooks, closeHooks.length + 1);
        hooks[hooks.length - 1] = hook;
        closeHooks = hooks;
        return true;
    }

    public synchronized void removeCloseHook(Runnable hook) {
        Runnable[] hooks = closeHooks;
        if (hooks == null) return;
        // A loop, not a stream: Uring adds and removes a hook for every operation on a descriptor.
        int kept = 0;
        for (Runnable h : hooks) if (h != hook) kept++;
        if (kept == hooks.length) return;
        if (kept == 0) {
            closeHooks = null;
            return;
        }
        Runnable[] rest = new Runnable[kept];
        int i = 0;
        for (Runnable h : hooks) if (h != hook) rest[i++] = h;
        closeHooks = rest;
    }

    private void runCloseHooks() {
        Runnable[] hooks;
        synchronized (this) {
            hooks = closeHooks;
            closeHooks = null;
        }
        if (hooks != null) for (Runnable hook : hooks) hook.run();
    }

    public boolean isClosed() {
        return (int) STATE.getVolatile(this) < 0;
    }

    /** The number, for display only: it may be stale once closed. */
    public int number() {
        return number;
    }

    /**
     * A close-on-exec duplicate (F_DUPFD_CLOEXEC): the same open file under another number, so epoll, which keys
     * an interest by (open file, number), holds it apart from this one. Null if this Fd is closed.
     */
    public Fd duplicate(String owner) throws SyscallException {
        int n = tryAcquire();
        if (n < 0) return null;
        try {
            return new Fd(Syscalls.fcntl(n, Uapi.F_DUPFD_CLOEXEC, 0), owner);
        } finally {
            release();
        }
    }

    public IllegalStateException closedException() {
        return new IllegalStateException(owner + " (fd " + number + ") is closed");
    }

    @Override
    public String toString() {
        return owner + "(fd=" + number + (isClosed() ? ", closed" : "") + ")";
    }

    private void closeNow() {
        try {
            Syscalls.close(number);
        } catch (SyscallException e) {
            // EBADF here would mean someone else closed our number: a bug worth seeing, never a reason to retry.
            throw new IllegalStateException(owner + ": " + e.getMessage(), e);
        }
    }
}
