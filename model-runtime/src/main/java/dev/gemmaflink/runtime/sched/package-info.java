/**
 * Scheduling policy without tensors: {@link dev.gemmaflink.runtime.sched.RequestQueue} (bounded, priority
 * then FIFO, deadlines), {@link dev.gemmaflink.runtime.sched.PreemptionPolicy} (least important, newest
 * first) and {@link dev.gemmaflink.runtime.sched.StepPlanner} (token budget: running sequences first, decode
 * one token each, then chunked prefill of admitted ones), producing a
 * {@link dev.gemmaflink.runtime.sched.StepPlan} for the engine to execute.
 */
package dev.gemmaflink.runtime.sched;
