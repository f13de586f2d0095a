/*
 * C baseline for the "io_uring NOP round trip" row of bench/REPORT.md (Java side: dev.fdkit.bench.UringNop).
 *
 * Raw io_uring through syscall(2) and mmap — no liburing — exactly the calls fdkit's Uring makes:
 * io_uring_setup (64 SQ entries, 512 CQ entries as Uring.open(64, ..) asks), the SQ/CQ rings and SQE array
 * mapped (one mmap for both rings where IORING_FEAT_SINGLE_MMAP), SQ tail published with a release store,
 * CQ tail read with an acquire load, io_uring_enter(fd, n, 0, 0) to submit. A NOP completes inside the
 * io_uring_enter that submits it, so the CQE is there when the call returns.
 *
 *   unbatched                 per op: one SQE, one io_uring_enter, reap one CQE
 *   batch32                   per 32 ops: 32 SQEs, one io_uring_enter, reap 32 CQEs (the tokio-uring batch)
 *   batch32_enter_each        per 32 ops: 32 × (one SQE, one io_uring_enter), then reap 32 CQEs — what
 *                             fdkit's Uring does for 32 submit() calls (it enters once per submit)
 *   *_eventfd                 the same with an eventfd registered (IORING_REGISTER_EVENTFD), as fdkit's Uring
 *                             had before it polled the ring descriptor: the kernel signals it for every CQE
 *   unbatched_epoll           the same with the ring descriptor in an epoll set nobody waits on, as a watched
 *                             fdkit Uring's poller holds it (Uring.openUnwatched has none)
 *
 * Each variant runs 7 times for about 1 s after a warm-up; the score is the best run in ops/s (one op = one
 * NOP submitted and reaped), the error the standard deviation over the runs, "cpu" the thread's lowest CPU
 * time per op in ns. Output: one JSON line per variant, as eventfd_roundtrip.c.
 *
 * Usage: uring_nop [--quick] [--runs N]      (bench_c.h: parse_args)
 * Built by bin/bench: gcc -O2 -pthread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench_c.h"

static void die(const char *what) {
    fprintf(stderr, "uring_nop: %s: %s\n", what, strerror(errno));
    exit(1);
}

struct ring {
    int fd;
    unsigned *sq_head, *sq_tail, *sq_mask, *sq_array, sq_entries;
    unsigned *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
    unsigned local_tail;
    uint64_t cookie;
};

static void ring_open(struct ring *r, unsigned entries, unsigned cq_entries) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = cq_entries;
    r->fd = (int) syscall(SYS_io_uring_setup, entries, &p);
    if (r->fd < 0) die("io_uring_setup");
    size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    int single = p.features & IORING_FEAT_SINGLE_MMAP;
    if (single && cq_size > sq_size) sq_size = cq_size;
    char *sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
    if (sq == MAP_FAILED) die("mmap SQ ring");
    char *cq = sq;
    if (!single) {
        cq = mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
        if (cq == MAP_FAILED) die("mmap CQ ring");
    }
    r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                   r->fd, IORING_OFF_SQES);
    if (r->sqes == MAP_FAILED) die("mmap SQEs");
    r->sq_head = (unsigned *) (sq + p.sq_off.head);
    r->sq_tail = (unsigned *) (sq + p.sq_off.tail);
    r->sq_mask = (unsigned *) (sq + p.sq_off.ring_mask);
    r->sq_array = (unsigned *) (sq + p.sq_off.array);
    r->sq_entries = p.sq_entries;
    r->cq_head = (unsigned *) (cq + p.cq_off.head);
    r->cq_tail = (unsigned *) (cq + p.cq_off.tail);
    r->cq_mask = (unsigned *) (cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *) (cq + p.cq_off.cqes);
    r->local_tail = *r->sq_tail;
    r->cookie = 1;
}

static void ring_register_eventfd(struct ring *r) {
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) die("eventfd");
    if (syscall(SYS_io_uring_register, r->fd, IORING_REGISTER_EVENTFD, &efd, 1) < 0) die("IORING_REGISTER_EVENTFD");
}

/* The ring descriptor in an epoll set nobody waits on, level-triggered, as a watched fdkit Uring's poller holds
 * it: the kernel then wakes that epoll's callback for every CQE. */
static void ring_watch_with_epoll(struct ring *r) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1 };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, r->fd, &ev) < 0) die("epoll_ctl");
}

static void ring_close(struct ring *r) {
    close(r->fd); /* the mappings stay: a few pages, this is a benchmark */
}

/* Prepares one NOP SQE (zeroed, as fdkit's nextSqe does). */
static inline void prep_nop(struct ring *r) {
    unsigned index = r->local_tail & *r->sq_mask;
    struct io_uring_sqe *sqe = &r->sqes[index];
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_NOP;
    sqe->user_data = r->cookie++;
    r->sq_array[index] = index;
    r->local_tail++;
}

static inline void enter(struct ring *r, unsigned n) {
    __atomic_store_n(r->sq_tail, r->local_tail, __ATOMIC_RELEASE);
    long submitted = syscall(SYS_io_uring_enter, r->fd, n, 0, 0, NULL, 0);
    if (submitted != (long) n) die("io_uring_enter");
}

/* Reaps every available CQE; returns how many. */
static inline unsigned reap(struct ring *r) {
    unsigned head = *r->cq_head, tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE), n = 0;
    while (head != tail) {
        struct io_uring_cqe *cqe = &r->cqes[head & *r->cq_mask];
        if (cqe->res != 0) { errno = -cqe->res; die("NOP completion"); }
        head++;
        n++;
    }
    __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
    return n;
}

static inline void reap_exactly(struct ring *r, unsigned n) {
    unsigned got = 0;
    while (got < n) got += reap(r);
    if (got != n) { errno = 0; die("reaped more completions than submitted"); }
}

enum { BATCH = 32 };

static void unbatched(struct ring *r) { /* BATCH round trips of one NOP each */
    for (int i = 0; i < BATCH; i++) {
        prep_nop(r);
        enter(r, 1);
        reap_exactly(r, 1);
    }
}

static void batch32(struct ring *r) {
    for (int i = 0; i < BATCH; i++) prep_nop(r);
    enter(r, BATCH);
    reap_exactly(r, BATCH);
}

static void batch32_enter_each(struct ring *r) {
    for (int i = 0; i < BATCH; i++) {
        prep_nop(r);
        enter(r, 1);
    }
    reap_exactly(r, BATCH);
}

/* ops per second over about run_ns; every call of step does BATCH ops. */
static double run(struct ring *r, void (*step)(struct ring *), uint64_t run_ns, double *cpu) {
    uint64_t ops = 0, cpu_start = clock_ns(CLOCK_THREAD_CPUTIME_ID), start = clock_ns(CLOCK_MONOTONIC), elapsed;
    do {
        for (int i = 0; i < 100; i++) step(r);
        ops += 100 * BATCH;
        elapsed = clock_ns(CLOCK_MONOTONIC) - start;
    } while (elapsed < run_ns);
    *cpu = (double) (clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_start) / (double) ops;
    return (double) ops * 1e9 / (double) elapsed;
}

enum watch { UNWATCHED, EVENTFD, EPOLL };

static void measure(const char *name, enum watch watch, void (*step)(struct ring *), int runs, uint64_t run_ns) {
    struct ring r;
    ring_open(&r, 64, 512);
    if (watch == EVENTFD) ring_register_eventfd(&r);
    if (watch == EPOLL) ring_watch_with_epoll(&r);
    double scores[64], cpus[64];
    run(&r, step, run_ns / 2, &cpus[0]); /* warm-up */
    for (int i = 0; i < runs; i++) scores[i] = run(&r, step, run_ns, &cpus[i]);
    ring_close(&r);
    report(name, "ops/s", scores, cpus, runs, 1); /* a throughput: the best run is the highest */
}

int main(int argc, char **argv) {
    int runs;
    uint64_t run_ns;
    parse_args(argc, argv, &runs, &run_ns);
    measure("uring_nop.unbatched", UNWATCHED, unbatched, runs, run_ns);
    measure("uring_nop.batch32", UNWATCHED, batch32, runs, run_ns);
    measure("uring_nop.batch32_enter_each", UNWATCHED, batch32_enter_each, runs, run_ns);
    measure("uring_nop.unbatched_eventfd", EVENTFD, unbatched, runs, run_ns);
    measure("uring_nop.unbatched_epoll", EPOLL, unbatched, runs, run_ns);
    measure("uring_nop.batch32_eventfd", EVENTFD, batch32, runs, run_ns);
    return 0;
}
