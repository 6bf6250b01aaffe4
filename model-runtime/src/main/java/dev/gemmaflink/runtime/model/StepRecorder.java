package dev.gemmaflink.runtime.model;

/**
 * Receives every step a {@link GemmaModel} runs while it is set ({@link GemmaModel#recordSteps}): the exact inputs
 * that crossed into the TorchScript module's {@code forward} and {@code sample} calls and the token ids that came
 * back, so that the step sequence can be replayed elsewhere (another device, another process) against a fresh KV
 * storage of the same geometry.
 *
 * <p>Called on the thread that runs the step, after the step's calls returned and before the step's result is
 * handed to the caller; a slow recorder slows the step, and an exception it throws fails the step. The arrays of the
 * {@link RecordedStep} are copies the recorder may keep.
 */
@FunctionalInterface
public interface StepRecorder {

    /** One step, in the order the model ran them (across every KV storage of the model). */
    void onStep(RecordedStep step);
}
