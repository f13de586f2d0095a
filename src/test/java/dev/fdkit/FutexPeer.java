package dev.fdkit;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * The second JVM of {@code FutexTest.wakesAWaiterInAnotherJvmThroughAMappedFile}: maps the file, announces
 * itself on the READY word (and wakes it), then waits on the shared WORD until it holds {@link #NEW_VALUE},
 * counting the waits that ended WOKEN in the WOKEN word. Exits 0 once it saw the new value, 1 on timeout.
 */
public final class FutexPeer {
    static final long WORD = 0;
    static final long READY = 4;
    static final long WOKEN = 8;
    static final long FILE_SIZE = 4096;
    static final int NEW_VALUE = 42;

    private FutexPeer() {}

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        Duration patience = Duration.ofSeconds(Long.parseLong(args[1]));
        try (Arena arena = Arena.ofConfined(); FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment memory = channel.map(FileChannel.MapMode.READ_WRITE, 0, FILE_SIZE, arena);
            Futex word = Futex.sharedWord(memory, WORD);
            Futex ready = Futex.sharedWord(memory, READY);
            Futex woken = Futex.sharedWord(memory, WOKEN);
            ready.set(1);
            ready.wakeAll();
            long deadline = System.nanoTime() + patience.toNanos();
            int value;
            while ((value = word.get()) != NEW_VALUE) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    System.err.println("FutexPeer: timed out, word = " + value);
                    System.exit(1);
                }
                if (word.await(value, Duration.ofNanos(left)) == Futex.WaitResult.WOKEN) woken.getAndAdd(1);
            }
            System.out.println("FutexPeer: saw " + value + " after " + woken.get() + " wake-ups");
        }
        System.exit(0);
    }
}
