package dev.gemmaflink.runtime.model;

import dev.gemmaflink.runtime.config.GemmaConfig;

/**
 * One model step as it crossed into the TorchScript module, for a {@link StepRecorder}. The module calls were:
 * <pre>
 *   logits = forward(weights, cache, rows, buffer, sizes, dims, soft)
 *   out    = sample(logits, params, kmax, logprobs, allowed, whole)     only when {@link #sample()} is not null
 * </pre>
 * with {@code cache}/{@code rows} the KV storage as {@code alloc_cache(slotsPerLayer, like)} and
 * {@code rows_view(cache)} make it ({@link #slotsPerLayer}), {@code buffer} an int64 tensor, {@code sizes} and
 * {@code dims} int lists, {@code soft} a float32 (softRows, softColumns) tensor; see {@code BatchTensors} and
 * {@code DeviceSampler} for their layouts.
 *
 * @param call          which model method ran the step
 * @param optimized     whether the forward call ran with graph-executor optimisation ({@link GraphMode#OPTIMIZED})
 * @param storageId     identifies the {@link KvStorage} the step ran against (steps of one storage form a sequence)
 * @param slidingSlots  the storage's available slots per sliding-window layer
 * @param fullSlots     the storage's available slots per full-attention layer
 * @param buffer        the packed int64 inputs
 * @param sizes         the buffer's section lengths
 * @param dims          the step's dimensions
 * @param soft          image soft-token embeddings, row-major (softRows x softColumns)
 * @param softRows      rows of {@code soft}
 * @param softColumns   columns of {@code soft} (the hidden size when there are no rows)
 * @param sample        the sampling call, or null: {@link Call#FORWARD}, or a step that sampled no row
 */
public record RecordedStep(Call call, boolean optimized, long storageId, int slidingSlots, int fullSlots,
        long[] buffer, long[] sizes, long[] dims, float[] soft, int softRows, int softColumns, Sample sample) {

    /** The model method that ran a step. */
    public enum Call {
        /** {@link GemmaModel#forward}: the logits went to the host. */
        FORWARD,
        /** {@link GemmaModel#forwardSample}: sampled on the device. */
        FORWARD_SAMPLE
    }

    /**
     * The device sampler's call and its result.
     *
     * @param params   int64 (rows, 7): per row its logit row, greedy flag, top-k, stream key, position and the raw
     *                 bits of 1/temperature and top-p
     * @param rows     rows sampled
     * @param kmax     the largest top-k of the non-greedy rows, 0 when all are greedy
     * @param logprobs whether log-probabilities were computed
     * @param allowed  int32 (rows, allowed.length / rows) token bitsets, or empty when no row was constrained
     * @param whole    whether the rows are the logit rows 0..N-1 in order
     * @param tokens   the token id sampled per row
     */
    public record Sample(long[] params, int rows, int kmax, boolean logprobs, int[] allowed, boolean whole,
            long[] tokens) {
    }

    /**
     * Slots per layer as {@code alloc_cache} takes them for this step's storage: the available slots of the layer's
     * type plus the scratch slot.
     */
    public long[] slotsPerLayer(GemmaConfig config) {
        return KvStorage.slotsPerLayer(config, slidingSlots, fullSlots);
    }
}
