/*
 * C baseline for the "syscall round trip (eventfd)" row of bench/REPORT.md.
 *
 * The same two syscalls fdkit's EventFd.trySignal(1) + tryReadValue() make: write(2) then read(2) of
 * 8 bytes on an EFD_NONBLOCK | EFD_CLOEXEC eventfd, in a loop, through glibc's plain wrappers.
 *
 * Measured twice:
 *   single_thread  the process has one thread;
 *   idle_thread    one extra pthread exists, blocked in pause(). A multithreaded process pays more per
 *                  syscall (the kernel takes a reference on the file when the fd table is shared, glibc
 *                  leaves its single-thread fast paths), and the JVM always has many threads, so this
 *                  is the figure fdkit is compared with.
 *
 * Each variant runs 7 times for about 1 s each after a warm-up; the score is the best run (wall-clock ns
 * per write+read pair), the error the standard deviation over the runs; "cpu" is the lowest thread CPU
 * time (user + system) per pair over the runs, which other load on the machine inflates far less than
 * wall time.
 *
 * Output: one JSON object per line, the format every C baseline in src/jmh/c prints:
 *   {"name":"eventfd_roundtrip.idle_thread","unit":"ns/op","score":..,"error":..,"mean":..,"cpu":..,
 *    "runs":[..],"cpu_runs":[..]}
 *
 * Usage: eventfd_roundtrip [--quick] [--runs N]      (bench_c.h: parse_args)
 * Built by bin/bench: gcc -O2 -pthread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "bench_c.h"

static uint64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

static void die(const char *what) {
    fprintf(stderr, "eventfd_roundtrip: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* One write+read pair, exactly as fdkit issues it (nonblocking fd, 8-byte buffer). */
static inline void pair(int fd, uint64_t *word) {
    *word = 1;
    if (write(fd, word, 8) != 8) die("write");
    if (read(fd, word, 8) != 8) die("read");
    if (*word != 1) { errno = 0; die("read returned an unexpected count"); }
}

/*
 * ns per pair over about run_ns of wall time; checks the clock only every BATCH pairs. Also stores the
 * thread's CPU time per pair (user + system) in *cpu: unlike wall time, it does not count the time other
 * processes held the CPU, so it stays meaningful on a busy machine.
 */
static double run(int fd, uint64_t run_ns, double *cpu) {
    enum { BATCH = 1000 };
    uint64_t word, pairs = 0, cpu_start = clock_ns(CLOCK_THREAD_CPUTIME_ID), start = now_ns(), elapsed;
    do {
        for (int i = 0; i < BATCH; i++) pair(fd, &word);
        pairs += BATCH;
        elapsed = now_ns() - start;
    } while (elapsed < run_ns);
    *cpu = (double) (clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_start) / (double) pairs;
    return (double) elapsed / (double) pairs;
}

static void measure(const char *name, int fd, int runs, uint64_t run_ns) {
    double scores[64], cpus[64];
    run(fd, run_ns / 2, &cpus[0]); /* warm-up: caches, branch predictors, CPU frequency */
    for (int r = 0; r < runs; r++) scores[r] = run(fd, run_ns, &cpus[r]);
    report(name, "ns/op", scores, cpus, runs, 0);
}

static void *idle(void *arg) {
    (void) arg;
    for (;;) pause(); /* blocked for good; the process exits with it still parked */
    return NULL;
}

int main(int argc, char **argv) {
    int runs;
    uint64_t run_ns;
    parse_args(argc, argv, &runs, &run_ns);

    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) die("eventfd");

    measure("eventfd_roundtrip.single_thread", fd, runs, run_ns);

    pthread_t t;
    if ((errno = pthread_create(&t, NULL, idle, NULL)) != 0) die("pthread_create");
    measure("eventfd_roundtrip.idle_thread", fd, runs, run_ns);
    return 0;
}
