package dev.fdkit;

/**
 * One result record, the asyncfd_result layout: who asked ({@code cookie}), about what ({@code obj}), and
 * the outcome ({@code res}, {@code res2}). CompletionRing records and Uring completions share it.
 */
public record Completion(long cookie, long obj, long res, long res2) {}
