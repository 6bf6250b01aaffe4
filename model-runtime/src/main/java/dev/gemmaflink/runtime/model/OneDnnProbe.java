package dev.gemmaflink.runtime.model;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds out once per JVM whether this CPU runs oneDNN's packed bf16 linear (needs avx512bw/vl/dq or avx_ne_convert):
 * packs a small random weight, runs one product and compares it with {@code torch.linear}.
 */
final class OneDnnProbe {

    private static final Logger LOG = LoggerFactory.getLogger(OneDnnProbe.class);
    private static volatile Boolean result;

    private OneDnnProbe() {
    }

    static boolean packedBf16Works() {
        Boolean r = result;
        if (r == null) {
            synchronized (OneDnnProbe.class) {
                r = result;
                if (r == null) {
                    r = probe();
                    result = r;
                }
            }
        }
        return r;
    }

    private static boolean probe() {
        try (Model model = new TorchScriptArchive("probe", "Probe", GemmaScript.probeSource()).load(Device.cpu());
             NDManager m = model.getNDManager().newSubManager()) {
            PtSymbolBlock block = (PtSymbolBlock) model.getBlock();
            PtNDArray x = (PtNDArray) m.randomNormal(new Shape(4, 64));
            PtNDArray w = (PtNDArray) m.randomNormal(new Shape(32, 64));
            try (IValue xi = IValue.from(x); IValue wi = IValue.from(w);
                 IValue out = IValueUtils.runMethod(block, "run", xi, wi)) {
                float diff = out.toTensor((ai.djl.pytorch.engine.PtNDManager) m).getFloat();
                boolean ok = diff < 0.05f;
                LOG.info("oneDNN packed bf16 linear {} (max difference to torch.linear {})",
                        ok ? "available" : "gives different results", diff);
                return ok;
            }
        } catch (RuntimeException e) {
            String msg = String.valueOf(e.getMessage());
            int nl = msg.lastIndexOf("RuntimeError:");
            LOG.info("oneDNN packed bf16 linear unavailable on this CPU, using plain bf16 products: {}",
                    nl >= 0 ? msg.substring(nl).trim() : msg.lines().findFirst().orElse(msg));
            return false;
        }
    }
}
