/*
 * C baseline for the "futex ping-pong" row of bench/REPORT.md (Java side: dev.fdkit.bench.FutexPingPong).
 *
 * Two pthreads pass the turn back and forth through one process-private futex word, exactly the protocol
 * FutexPingPong.fdkit runs with dev.fdkit.Futex:
 *
 *   measuring thread:  word = 1; FUTEX_WAKE_PRIVATE(word, 1); while (word == 1) FUTEX_WAIT_PRIVATE(word, 1);
 *   partner thread:    while (word == 0) FUTEX_WAIT_PRIVATE(word, 0); word = 0; FUTEX_WAKE_PRIVATE(word, 1);
 *
 * so one round trip is two wakes, at least two waits and two thread wake-ups. The futex calls go through
 * raw syscall(SYS_futex, ...), as fdkit's do (no glibc wrapper, no cancellation point).
 *
 * Also measured, for the row's eventfd baseline: the same ping-pong through two blocking eventfds
 * (measuring thread: write(a, 1); read(b); partner: read(a); write(b, 1)).
 *
 * Each variant runs 7 times for about 1 s each after a warm-up; the score is the best run (wall-clock ns
 * per round trip), the error the standard deviation over the runs; "cpu" is the measuring thread's lowest
 * CPU time (user + system) per round trip. Output: one JSON line per variant, as eventfd_roundtrip.c.
 *
 * Usage: futex_pingpong [--quick] [--runs N]      (bench_c.h: parse_args)
 * Built by bin/bench: gcc -O2 -pthread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench_c.h"

static void die(const char *what) {
    fprintf(stderr, "futex_pingpong: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ------------------------------------------------------------------ futex */

static _Alignas(64) uint32_t word;

static inline long futex(uint32_t *uaddr, int op, uint32_t val) {
    return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static inline void futex_wait(uint32_t *uaddr, uint32_t expected) {
    if (futex(uaddr, FUTEX_WAIT_PRIVATE, expected) < 0 && errno != EAGAIN && errno != EINTR) die("FUTEX_WAIT");
}

static inline void futex_wake(uint32_t *uaddr) {
    if (futex(uaddr, FUTEX_WAKE_PRIVATE, 1) < 0) die("FUTEX_WAKE");
}

static void futex_round_trip(void) {
    __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
    futex_wake(&word);
    while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) == 1) futex_wait(&word, 1);
}

static void *futex_partner(void *arg) {
    (void) arg;
    for (;;) {
        while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) == 0) futex_wait(&word, 0);
        __atomic_store_n(&word, 0, __ATOMIC_SEQ_CST);
        futex_wake(&word);
    }
    return NULL;
}

/* ------------------------------------------------------------------ eventfd */

static int to_partner, to_main;

static inline void efd_write(int fd) {
    uint64_t one = 1;
    if (write(fd, &one, 8) != 8) die("write");
}

static inline void efd_read(int fd) {
    uint64_t value;
    if (read(fd, &value, 8) != 8) die("read");
}

static void eventfd_round_trip(void) {
    efd_write(to_partner);
    efd_read(to_main);
}

static void *eventfd_partner(void *arg) {
    (void) arg;
    for (;;) {
        efd_read(to_partner);
        efd_write(to_main);
    }
    return NULL;
}

/* ------------------------------------------------------------------ measuring */

static double run(void (*round_trip)(void), uint64_t run_ns, double *cpu) {
    enum { BATCH = 200 };
    uint64_t trips = 0, cpu_start = clock_ns(CLOCK_THREAD_CPUTIME_ID), start = clock_ns(CLOCK_MONOTONIC), elapsed;
    do {
        for (int i = 0; i < BATCH; i++) round_trip();
        trips += BATCH;
        elapsed = clock_ns(CLOCK_MONOTONIC) - start;
    } while (elapsed < run_ns);
    *cpu = (double) (clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_start) / (double) trips;
    return (double) elapsed / (double) trips;
}

static void measure(const char *name, void (*round_trip)(void), int runs, uint64_t run_ns) {
    double scores[64], cpus[64];
    run(round_trip, run_ns / 2, &cpus[0]); /* warm-up */
    for (int r = 0; r < runs; r++) scores[r] = run(round_trip, run_ns, &cpus[r]);
    report(name, "ns/op", scores, cpus, runs, 0);
}

int main(int argc, char **argv) {
    int runs;
    uint64_t run_ns;
    parse_args(argc, argv, &runs, &run_ns);
    pthread_t t;

    if ((errno = pthread_create(&t, NULL, futex_partner, NULL)) != 0) die("pthread_create");
    measure("futex_pingpong.private", futex_round_trip, runs, run_ns);

    /* The futex partner stays parked in FUTEX_WAIT (word is 0 again): an idle extra thread from here on. */
    to_partner = eventfd(0, EFD_CLOEXEC);
    to_main = eventfd(0, EFD_CLOEXEC);
    if (to_partner < 0 || to_main < 0) die("eventfd");
    if ((errno = pthread_create(&t, NULL, eventfd_partner, NULL)) != 0) die("pthread_create");
    measure("futex_pingpong.eventfd", eventfd_round_trip, runs, run_ns);
    return 0;
}
