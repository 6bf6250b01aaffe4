package dev.gemmaflink.runtime.model;

import java.util.List;

/**
 * One forward call: the new tokens of several sequences, run together. Sequences may mix prefill, prompt chunks and
 * decode; the runtime pads them to the longest query run and context internally.
 *
 * @param steps one entry per sequence, in the order of the result rows
 */
public record ForwardBatch(List<SequenceStep> steps) {

    public ForwardBatch {
        if (steps == null || steps.isEmpty()) {
            throw new IllegalArgumentException("forward batch: at least one sequence step is required");
        }
        steps = List.copyOf(steps);
    }

    /** A batch of one sequence. */
    public static ForwardBatch of(SequenceStep step) {
        return new ForwardBatch(List.of(step));
    }

    /** Total new tokens over all sequences. */
    public int totalTokens() {
        return steps.stream().mapToInt(SequenceStep::length).sum();
    }
}
