package dev.gemmaflink.runtime.model;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;

/**
 * Measures device memory read bandwidth the way a decode step reads weights: {@code torch.sum} over a buffer much
 * larger than the caches, repeated, best of the repetitions. Used by the benchmark to state the bandwidth floor
 * (weight bytes read per token over this bandwidth).
 */
public final class BandwidthProbe {

    private BandwidthProbe() {
    }

    /**
     * @param device where to measure
     * @param bytes  buffer size (at least 64 MiB; 1 GiB is a good choice)
     * @param reps   repetitions after one warm-up pass
     * @return the best read bandwidth in bytes per second
     */
    public static double readBytesPerSecond(Device device, long bytes, int reps) {
        if (bytes < (64L << 20) || reps < 1) {
            throw new IllegalArgumentException("bandwidth probe needs >= 64 MiB and >= 1 repetition, got "
                    + bytes + " bytes and " + reps);
        }
        String src = "def run(self: __torch__.Bw, x: Tensor, n: int) -> Tensor:\n"
                + "  s = torch.sum(x)\n"
                + "  for i in range(n - 1):\n"
                + "    s = torch.add(s, torch.sum(x))\n"
                + "  return s\n";
        try (Model model = new TorchScriptArchive("bw", "Bw", src).load(device);
             NDManager m = model.getNDManager().newSubManager()) {
            PtSymbolBlock block = (PtSymbolBlock) model.getBlock();
            PtNDArray x = (PtNDArray) m.ones(new Shape(bytes / 4), DataType.FLOAT32);
            double best = 0;
            try (IValue xi = IValue.from(x); IValue one = IValue.from(1L)) {
                IValueUtils.runMethod(block, "run", xi, one).close();
                for (int r = 0; r < reps; r++) {
                    long t0 = System.nanoTime();
                    IValueUtils.runMethod(block, "run", xi, one).close();
                    long dt = System.nanoTime() - t0;
                    best = Math.max(best, (bytes / 4 * 4L) * 1e9 / dt);
                }
            }
            return best;
        }
    }
}
