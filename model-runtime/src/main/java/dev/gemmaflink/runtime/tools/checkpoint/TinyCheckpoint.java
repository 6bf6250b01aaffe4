package dev.gemmaflink.runtime.tools.checkpoint;

import dev.gemmaflink.runtime.config.GemmaConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A written tiny checkpoint: where it is, its configuration, and the weights exactly as stored (after
 * rounding to the file dtype), so reference tests need not read the files back.
 *
 * @param directory the checkpoint directory (config.json, tokenizer.json, model*.safetensors)
 * @param spec what was written
 * @param config the configuration written as config.json
 * @param values canonical tensor name to its stored values, row-major, as float32 (unmodifiable)
 * @param shapes canonical tensor name to shape (unmodifiable)
 * @param files the safetensors files written, in order
 */
public record TinyCheckpoint(Path directory, TinyCheckpointSpec spec, GemmaConfig config, Map<String, float[]> values,
        Map<String, long[]> shapes, List<Path> files) {

    /**
     * @param canonicalName e.g. {@code embed_tokens.weight}, {@code layers.0.self_attn.q_proj.weight}
     * @return a copy of the stored values
     */
    public float[] value(String canonicalName) {
        float[] v = values.get(canonicalName);
        if (v == null) {
            throw new IllegalArgumentException("no tensor " + canonicalName + " in tiny checkpoint " + directory);
        }
        return v.clone();
    }

    /** @return path of tokenizer.json */
    public Path tokenizerJson() {
        return directory.resolve("tokenizer.json");
    }
}
