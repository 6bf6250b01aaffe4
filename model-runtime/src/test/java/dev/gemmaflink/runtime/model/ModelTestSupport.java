package dev.gemmaflink.runtime.model;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.config.LayerType;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Helpers shared by the model tests: reference construction, token streams, error measures. */
final class ModelTestSupport {

    private ModelTestSupport() {
    }

    /** A reference model for a written tiny checkpoint, with the embedding scale of the runtime's precision. */
    static ReferenceGemma reference(TinyCheckpoint ckpt, Precision runtimePrecision) {
        TinyCheckpointSpec s = ckpt.spec();
        List<Boolean> global = new ArrayList<>();
        for (LayerType t : ckpt.config().layerTypes()) {
            global.add(t == LayerType.FULL_ATTENTION);
        }
        double scale = Math.sqrt(s.hidden());
        if (runtimePrecision == Precision.BF16) {
            scale = bf16((float) scale);
        }
        ReferenceGemma.Dims dims = new ReferenceGemma.Dims(s.layers(), s.hidden(), s.intermediate(), s.heads(),
                s.kvHeads(), s.headDim(), s.vocab(), s.window(), 1e-6, s.headDim(), 10_000.0, 1_000_000.0,
                s.ropeScaling(), global, scale);
        return new ReferenceGemma(dims, ckpt.values());
    }

    /** Round-to-nearest-even bf16, written independently of the runtime's helper. */
    static float bf16(float x) {
        int bits = Float.floatToIntBits(x);
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(rounded & 0xFFFF0000);
    }

    static int[] randomTokens(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[n];
        ids[0] = 2;
        for (int i = 1; i < n; i++) {
            ids[i] = 3 + r.nextInt(vocab - 3);
        }
        return ids;
    }

    /** max |a - b| over max |ref|. */
    static double relError(float[] actual, double[] ref) {
        double maxDiff = 0;
        double maxRef = 0;
        for (int i = 0; i < ref.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(actual[i] - ref[i]));
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
        }
        return maxDiff / maxRef;
    }

    static double relError(float[] actual, float[] expected) {
        double[] e = new double[expected.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = expected[i];
        }
        return relError(actual, e);
    }

    /** Runs a whole sequence as one prefill in fresh storage and returns logits of every position. */
    static float[][] prefillAll(GemmaModel model, int[] ids) {
        try (KvStorage kv = model.allocateKv(ids.length, ids.length)) {
            SequenceCache cache = new SequenceCache(model.config(), 0, ids.length);
            ForwardResult r = model.forward(ForwardBatch.of(cache.append(ids, true)), kv);
            float[][] out = new float[ids.length][];
            for (int i = 0; i < ids.length; i++) {
                out[i] = r.row(0, i);
            }
            return out;
        }
    }
}
