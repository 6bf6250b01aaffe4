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
 * Finds out once per JVM and precision whether this CPU runs oneDNN's packed linear (bf16 needs avx512bw/vl/dq or
 * avx_ne_convert): packs a small random weight, runs one product and compares it with {@code torch.linear}.
 */
final class OneDnnProbe {

    private static final Logger LOG = LoggerFactory.getLogger(OneDnnProbe.class);
    private static volatile Boolean bf16;
    private static volatile Boolean f32;

    private OneDnnProbe() {
    }

    static boolean packedBf16Works() {
        Boolean r = bf16;
        if (r == null) {
            synchronized (OneDnnProbe.class) {
                r = bf16;
                if (r == null) {
                    r = probe(Precision.BF16, 0.05f);
                    bf16 = r;
                }
            }
        }
        return r;
    }

    static boolean packedF32Works() {
        Boolean r = f32;
        if (r == null) {
            synchronized (OneDnnProbe.class) {
                r = f32;
                if (r == null) {
                    r = probe(Precision.FLOAT32, 1e-3f);
                    f32 = r;
                }
            }
        }
        return r;
    }

    /** @param tolerance the largest absolute difference to {@code torch.linear} accepted (64-term products) */
    private static boolean probe(Precision precision, float tolerance) {
        String name = precision == Precision.BF16 ? "bf16" : "float32";
        try (Model model = new TorchScriptArchive("probe", "Probe",
                GemmaScript.probeSource(precision.torchScalarType())).load(Device.cpu());
             NDManager m = model.getNDManager().newSubManager()) {
            PtSymbolBlock block = (PtSymbolBlock) model.getBlock();
            PtNDArray x = (PtNDArray) m.randomNormal(new Shape(4, 64));
            PtNDArray w = (PtNDArray) m.randomNormal(new Shape(32, 64));
            try (IValue xi = IValue.from(x); IValue wi = IValue.from(w);
                 IValue out = IValueUtils.runMethod(block, "run", xi, wi)) {
                float diff = out.toTensor((ai.djl.pytorch.engine.PtNDManager) m).getFloat();
                boolean ok = diff < tolerance;
                LOG.info("oneDNN packed {} linear {} (max difference to torch.linear {})", name,
                        ok ? "available" : "gives different results", diff);
                return ok;
            }
        } catch (RuntimeException e) {
            String msg = String.valueOf(e.getMessage());
            int nl = msg.lastIndexOf("RuntimeError:");
            LOG.info("oneDNN packed {} linear unavailable on this CPU, using plain {} products: {}", name, name,
                    nl >= 0 ? msg.substring(nl).trim() : msg.lines().findFirst().orElse(msg));
            return false;
        }
    }
}
