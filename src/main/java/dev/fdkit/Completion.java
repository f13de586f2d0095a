package dev.fdkit;

/**
 * One result record, the asyncfd_result layout: who asked ({@code cookie}), about what ({@code obj}), and
 * the outcome ({@code res}, {@code res2}). CompletionRing records and Uring completions share it.
 *
 * @param cookie the producer's tag, handed back untouched so the consumer can match the record to its request
 * @param obj    what the result is about: for a Uring completion the opcode; in a CompletionRing whatever
 *               the producer chose (a pid, a descriptor...)
 * @param res    the outcome: for a Uring completion the CQE result, a negative errno on failure
 * @param res2   a second value: for a Uring completion the CQE flags; in a CompletionRing the producer's
 *               choice
 */
public record Completion(long cookie, long obj, long res, long res2) {}
