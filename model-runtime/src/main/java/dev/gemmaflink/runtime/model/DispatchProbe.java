package dev.gemmaflink.runtime.model;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;

/**
 * Measures what one operation of a generated module costs when its work is negligible: a straight-line TorchScript
 * method of {@link #OPERATIONS} element-wise {@code add}s on a 64-float row, best of the repetitions. This is the
 * TorchScript interpreter's and libtorch's per-operation cost on the device (on a GPU, the host's launch rate), so
 * a step of N graph operations cannot run in less than N times it, however small the model. The benchmark states it
 * beside the bandwidth floor ({@link BandwidthProbe}): a decode step is bound by the larger of the two.
 */
public final class DispatchProbe {

    /** Operations in the probe's method: enough that the call's own cost (about one operation) is below 0.1%. */
    static final int OPERATIONS = 1024;

    private DispatchProbe() {
    }

    /**
     * @param device where to measure
     * @param reps   repetitions after one warm-up call
     * @return the best time of one trivial operation, in seconds
     */
    public static double secondsPerOperation(Device device, int reps) {
        if (reps < 1) {
            throw new IllegalArgumentException("dispatch probe needs >= 1 repetition, got " + reps);
        }
        try (Model model = archive().load(device);
             PtNDManager m = (PtNDManager) model.getNDManager().newSubManager()) {
            PtSymbolBlock block = (PtSymbolBlock) model.getBlock();
            PtNDArray x = (PtNDArray) m.zeros(new Shape(1, 64), DataType.FLOAT32);
            PtNDArray w = (PtNDArray) m.ones(new Shape(1, 64), DataType.FLOAT32);
            double best = Double.MAX_VALUE;
            try (IValue xi = IValue.from(x); IValue wi = IValue.from(w)) {
                for (int r = 0; r <= reps; r++) { // r = 0 is the warm-up
                    long t0 = System.nanoTime();
                    float sum;
                    try (IValue out = IValueUtils.runMethod(block, "forward", xi, wi)) {
                        sum = out.toTensor(m).getFloat(); // waits for the device
                    }
                    long dt = System.nanoTime() - t0;
                    if (sum != 64f * OPERATIONS) {
                        throw new IllegalStateException("dispatch probe computed " + sum + ", not " + 64 * OPERATIONS);
                    }
                    if (r > 0) {
                        best = Math.min(best, dt / 1e9 / OPERATIONS);
                    }
                }
            }
            return best;
        }
    }

    /** The probe's module: {@code forward(x, w)} adds {@code w} to {@code x} {@link #OPERATIONS} times, then sums. */
    static TorchScriptArchive archive() {
        StringBuilder s = new StringBuilder("def forward(self: __torch__.Dispatch, x: Tensor, w: Tensor) -> Tensor:\n");
        for (int i = 0; i < OPERATIONS - 1; i++) {
            s.append("  x = torch.add(x, w)\n");
        }
        s.append("  return torch.sum(torch.add(x, w))\n");
        return new TorchScriptArchive("dispatch", "Dispatch", s.toString());
    }
}
