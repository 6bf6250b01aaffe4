package dev.gemmaflink.runtime.tools.cli;

import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.LoadProgress;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.model.Precision;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by the commands that load a model. */
final class ModelArgs {

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Checkpoint directory (config.json, model*.safetensors, tokenizer.json).")
    Path model;

    @Option(names = "--precision", defaultValue = "bf16", paramLabel = "bf16|f32",
            description = "Weights, cache and products in bf16 (default) or float32 throughout (reference).")
    String precision;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|gpu:N", description = "Device (default cpu).")
    String device;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N",
            description = "Intra-op CPU threads (0 = libtorch default, one per core).")
    int threads;

    ModelOptions options() {
        return ModelOptions.builder().precision(Precision.parse(precision)).device(device).threads(threads).build();
    }

    /** Loads the model, drawing a progress line on {@code err} for checkpoints over 256 MB. */
    GemmaModel load(PrintWriter err) {
        ModelOptions opts = options();
        LoadProgress progress = new LoadProgress() {
            private int lastPercent = -1;

            @Override
            public void onProgress(long done, long total) {
                if (total < (256L << 20)) {
                    return;
                }
                int pct = (int) (100 * done / total);
                if (pct != lastPercent) {
                    lastPercent = pct;
                    err.printf("\rloading weights: %3d%% (%d / %d MB)", pct, done >> 20, total >> 20);
                    if (done >= total) {
                        err.println();
                    }
                    err.flush();
                }
            }
        };
        return GemmaModel.load(model, opts, progress);
    }
}
