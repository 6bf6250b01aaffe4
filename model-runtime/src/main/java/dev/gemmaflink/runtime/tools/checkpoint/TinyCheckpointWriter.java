package dev.gemmaflink.runtime.tools.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmaflink.runtime.ModelLoadException;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.tokenizer.RealTokenizer;
import dev.gemmaflink.runtime.weights.DType;
import dev.gemmaflink.runtime.weights.HalfFloats;
import dev.gemmaflink.runtime.weights.SafetensorsWriter;
import dev.gemmaflink.runtime.weights.TensorNaming;
import dev.gemmaflink.runtime.weights.TensorSlot;
import dev.gemmaflink.runtime.weights.TensorTable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Writes a tiny random Gemma 3 checkpoint in Hugging Face layout: {@code config.json},
 * {@code model.safetensors} (or shards + {@code model.safetensors.index.json}) and {@code tokenizer.json}.
 *
 * <p>Which tensors exist and their shapes come from {@link TensorTable}, the same table the loader checks
 * against, so writer and loader cannot drift apart. Values are drawn per tensor from a {@link Random} seeded by
 * (seed, canonical tensor name): adding tensors (the vision tower: {@link TinyCheckpointSpec.Builder#vision})
 * leaves the text weights unchanged. Scales, by what a tensor is used as, keep a random model numerically tame:
 * matrices and position embeddings N(0, 1/fan_in) (the token embedding N(0, 1/hidden), so scaled embeddings and
 * tied logits are O(1)), Gemma RMSNorm weights N(0, 0.1) (stored as offsets from 1), LayerNorm weights
 * 1 + N(0, 0.1), biases N(0, 0.02).
 *
 * <pre>{@code
 * TinyCheckpoint ckpt = TinyCheckpointWriter.write(dir, TinyCheckpointSpec.builder().dtype(DType.BF16).build());
 * float[] q0 = ckpt.value("layers.0.self_attn.q_proj.weight");   // as stored (bf16-rounded)
 * }</pre>
 */
public final class TinyCheckpointWriter {
    private TinyCheckpointWriter() {
    }

    /**
     * Writes the checkpoint into {@code dir} (created if needed; existing files of the same names are replaced).
     *
     * @return what was written, with the stored values
     * @throws ModelLoadException when files cannot be written or the real tokenizer cannot be found or fetched
     */
    public static TinyCheckpoint write(Path dir, TinyCheckpointSpec spec) {
        GemmaConfig cfg = spec.toConfig();
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), cfg.toJson(), StandardCharsets.UTF_8);
            writeTokenizer(dir, spec);
            writeGenerationConfig(dir, cfg);
        } catch (IOException e) {
            throw new ModelLoadException("cannot write tiny checkpoint into " + dir + ": " + e, e);
        }
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, float[]> values = new LinkedHashMap<>();
        for (TensorSlot slot : TensorTable.of(cfg).all()) {
            shapes.put(slot.name(), slot.shape());
            values.put(slot.name(), generate(slot, spec));
        }
        List<Path> files = writeWeights(dir, spec, shapes, values);
        return new TinyCheckpoint(dir, spec, cfg, Collections.unmodifiableMap(values),
                Collections.unmodifiableMap(shapes), List.copyOf(files));
    }

    private static void writeTokenizer(Path dir, TinyCheckpointSpec spec) throws IOException {
        Path target = dir.resolve("tokenizer.json");
        if (spec.realTokenizer()) {
            Files.copy(RealTokenizer.tokenizerJson(), target, StandardCopyOption.REPLACE_EXISTING);
        } else {
            Files.writeString(target, TinyTokenizerJson.generate(spec.vocab()), StandardCharsets.UTF_8);
        }
    }

    private static void writeGenerationConfig(Path dir, GemmaConfig cfg) throws IOException {
        ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode g = m.createObjectNode();
        g.put("bos_token_id", cfg.bosTokenId());
        cfg.eosTokenIds().forEach(g.putArray("eos_token_id")::add);
        g.put("pad_token_id", cfg.padTokenId());
        g.put("top_k", 64);
        g.put("top_p", 0.95);
        Files.writeString(dir.resolve("generation_config.json"), m.writeValueAsString(g) + "\n", StandardCharsets.UTF_8);
    }

    /** Random values for one tensor, rounded to the file dtype so they equal what a reader gets back. */
    static float[] generate(TensorSlot slot, TinyCheckpointSpec spec) {
        long[] shape = slot.shape();
        int n = Math.toIntExact(elements(shape));
        Random rnd = new Random(spec.seed() * 1_000_003L + slot.name().hashCode());
        double mean = 0;
        double std;
        switch (slot.kind().form()) {
            case MATRIX:
            case POSITION_EMBEDDING:
                std = 1.0 / Math.sqrt(elements(shape) / shape[0]); // fan-in: everything but the output axis
                break;
            case MATRIX_IN_OUT:
                std = 1.0 / Math.sqrt(shape[0]);
                break;
            case GEMMA_NORM:
                std = 0.1; // offsets from 1
                break;
            case LAYER_NORM:
                mean = 1.0; // LayerNorm multiplies by w, not (1 + w)
                std = 0.1;
                break;
            case BIAS:
                std = 0.02;
                break;
            default:
                throw new IllegalStateException("unknown form " + slot.kind().form());
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = round((float) (mean + std * rnd.nextGaussian()), spec.dtype());
        }
        return v;
    }

    private static float round(float x, DType dtype) {
        switch (dtype) {
            case BF16:
                return HalfFloats.roundToBf16(x);
            case F16:
                return HalfFloats.f16ToFloat(HalfFloats.floatToF16(x));
            default:
                return x;
        }
    }

    private static List<Path> writeWeights(Path dir, TinyCheckpointSpec spec, Map<String, long[]> shapes,
            Map<String, float[]> values) {
        TensorNaming scheme = spec.scheme();
        int shards = spec.shards();
        long total = 0;
        for (float[] v : values.values()) {
            total += (long) v.length * spec.dtype().byteSize();
        }
        List<SafetensorsWriter> writers = new ArrayList<>();
        for (int i = 0; i < shards; i++) {
            writers.add(new SafetensorsWriter().metadata("format", "pt"));
        }
        // Fill shards in order by bytes, never leaving one empty (each needs at least one tensor).
        Map<String, Integer> shardOf = new LinkedHashMap<>();
        long written = 0;
        int shard = 0;
        int remainingTensors = values.size();
        for (Map.Entry<String, float[]> e : values.entrySet()) {
            long bytes = (long) e.getValue().length * spec.dtype().byteSize();
            boolean shardHasData = writers.get(shard).dataBytes() > 0;
            boolean pastShare = written >= total * (shard + 1) / shards;
            if (shardHasData && shard < shards - 1 && (pastShare || remainingTensors <= shards - 1 - shard)) {
                shard++;
            }
            writers.get(shard).add(scheme.fileName(e.getKey()), spec.dtype(), shapes.get(e.getKey()), e.getValue());
            shardOf.put(e.getKey(), shard);
            written += bytes;
            remainingTensors--;
        }
        List<Path> files = new ArrayList<>();
        if (shards == 1) {
            Path f = dir.resolve("model.safetensors");
            writers.get(0).write(f);
            files.add(f);
            return files;
        }
        for (int i = 0; i < shards; i++) {
            Path f = dir.resolve(String.format("model-%05d-of-%05d.safetensors", i + 1, shards));
            writers.get(i).write(f);
            files.add(f);
        }
        ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode index = m.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode weightMap = index.putObject("weight_map");
        Map<String, String> sorted = new TreeMap<>();
        shardOf.forEach((name, s) -> sorted.put(scheme.fileName(name), files.get(s).getFileName().toString()));
        sorted.forEach(weightMap::put);
        try {
            Files.writeString(dir.resolve("model.safetensors.index.json"), m.writeValueAsString(index) + "\n");
        } catch (IOException e) {
            throw new ModelLoadException("cannot write shard index in " + dir + ": " + e, e);
        }
        return files;
    }

    private static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
