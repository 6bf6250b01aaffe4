package dev.gemmaflink.runtime.weights;

import dev.gemmaflink.runtime.ModelLoadException;
import dev.gemmaflink.runtime.config.GemmaConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The weights of a Gemma 3 checkpoint directory, memory-mapped and checked against a {@link GemmaConfig}.
 *
 * <p>{@link #open} reads {@code model.safetensors}, or {@code model.safetensors.index.json} and its shards,
 * detects the {@link TensorNaming} scheme, and verifies that every tensor of the config's {@link TensorTable} (text
 * always, vision when the config has one) is present with exactly the expected shape before anything runs. Any
 * problem ends in a {@link ModelLoadException} naming the file and tensor. Extra tensors are ignored.
 *
 * <pre>{@code
 * GemmaConfig cfg = GemmaConfig.load(dir);
 * try (GemmaWeights w = GemmaWeights.open(dir, cfg)) {
 *     TensorData emb = w.embedTokens();                      // (vocab, hidden)
 *     TensorData q0 = w.tensor(TensorKind.ATTN_Q, 0);        // (heads * headDim, hidden)
 * }
 * }</pre>
 */
public final class GemmaWeights implements AutoCloseable {
    /** Single-file checkpoint name. */
    public static final String SINGLE_FILE = "model.safetensors";
    /** Sharded checkpoint index name. */
    public static final String INDEX_FILE = ShardIndex.FILE_NAME;
    /** Problems listed in one error message; the rest are counted. */
    private static final int PROBLEMS_SHOWN = 5;

    private final Path directory;
    private final TensorTable table;
    private final TensorNaming scheme;
    private final List<SafetensorsFile> files;
    private final Map<String, TensorData> byKey; // stored key -> tensor

    private GemmaWeights(Path directory, TensorTable table, TensorNaming scheme, List<SafetensorsFile> files,
            Map<String, TensorData> byKey) {
        this.directory = directory;
        this.table = table;
        this.scheme = scheme;
        this.files = files;
        this.byKey = byKey;
    }

    /**
     * Opens and validates the checkpoint in {@code modelDir}.
     *
     * @param modelDir directory with {@code model.safetensors} or {@code model.safetensors.index.json} + shards
     * @param cfg the model's configuration (see {@link GemmaConfig#load})
     * @return the open weights; close them to release the files
     * @throws ModelLoadException naming file and tensor on anything missing, mis-shaped, truncated or corrupt
     */
    public static GemmaWeights open(Path modelDir, GemmaConfig cfg) {
        if (!Files.isDirectory(modelDir)) {
            throw new ModelLoadException("model directory not found: " + modelDir);
        }
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, TensorData> byKey = new LinkedHashMap<>();
            Path index = modelDir.resolve(INDEX_FILE);
            Path single = modelDir.resolve(SINGLE_FILE);
            if (Files.exists(index)) {
                Map<String, String> weightMap = ShardIndex.read(index);
                for (String shard : new LinkedHashSet<>(weightMap.values())) {
                    SafetensorsFile f = SafetensorsFile.open(modelDir.resolve(shard));
                    opened.add(f);
                    addAll(f, byKey);
                }
                for (Map.Entry<String, String> e : weightMap.entrySet()) {
                    TensorData t = byKey.get(e.getKey());
                    if (t == null || !t.sourceFile().getFileName().toString().equals(e.getValue())) {
                        throw new ModelLoadException("shard index " + index + " places tensor " + e.getKey() + " in "
                                + e.getValue() + ", but " + (t == null ? "no shard holds it" : "it is in "
                                + t.sourceFile().getFileName()));
                    }
                }
            } else if (Files.exists(single)) {
                SafetensorsFile f = SafetensorsFile.open(single);
                opened.add(f);
                addAll(f, byKey);
            } else {
                throw new ModelLoadException("no " + SINGLE_FILE + " or " + INDEX_FILE + " in " + modelDir);
            }
            TensorNaming scheme = TensorNaming.detect(byKey.keySet(), modelDir.toString());
            TensorTable table = TensorTable.of(cfg);
            check(modelDir, table, scheme, byKey);
            return new GemmaWeights(modelDir, table, scheme, List.copyOf(opened), Collections.unmodifiableMap(byKey));
        } catch (RuntimeException e) {
            for (SafetensorsFile f : opened) {
                try {
                    f.close();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            if (e instanceof ModelLoadException) {
                throw e;
            }
            throw new ModelLoadException("cannot open checkpoint in " + modelDir + ": " + e, e);
        }
    }

    private static void addAll(SafetensorsFile f, Map<String, TensorData> byKey) {
        for (TensorData t : f.tensors()) {
            TensorData previous = byKey.putIfAbsent(t.name(), t);
            if (previous != null) {
                throw new ModelLoadException("tensor " + t.name() + " appears in both " + previous.sourceFile() + " and "
                        + t.sourceFile());
            }
        }
    }

    /** Every slot of the table must be stored, with its shape; all problems are reported together. */
    private static void check(Path dir, TensorTable table, TensorNaming scheme, Map<String, TensorData> byKey) {
        if (table.config().vision().isPresent() && !scheme.supportsVision()) {
            throw new ModelLoadException("config has a vision_config but the checkpoint in " + dir
                    + " uses the text-only naming scheme (model.*)");
        }
        List<String> missing = new ArrayList<>();
        List<String> misshaped = new ArrayList<>();
        for (TensorSlot slot : table.all()) {
            String key = slot.storedName(scheme);
            TensorData t = byKey.get(key);
            if (t == null) {
                missing.add(key);
            } else if (!t.hasShape(slot.shape())) {
                misshaped.add("tensor " + key + " (" + slot.describe() + ") in " + t.sourceFile() + " has shape "
                        + Arrays.toString(t.shape()) + " but the config expects " + Arrays.toString(slot.shape()));
            }
        }
        List<String> problems = new ArrayList<>();
        if (!missing.isEmpty()) {
            problems.add("lacks " + missing.size() + " tensor(s) the config needs: " + shown(missing, ", "));
        }
        if (!misshaped.isEmpty()) {
            problems.add("has " + misshaped.size() + " tensor(s) of another shape than the config expects: "
                    + shown(misshaped, "; "));
        }
        if (!problems.isEmpty()) {
            throw new ModelLoadException("checkpoint in " + dir + " " + String.join("; and ", problems));
        }
    }

    private static String shown(List<String> items, String separator) {
        String listed = String.join(separator, items.subList(0, Math.min(items.size(), PROBLEMS_SHOWN)));
        int more = items.size() - PROBLEMS_SHOWN;
        return "[" + listed + (more > 0 ? separator + "... " + more + " more" : "") + "]";
    }

    /** @return the checkpoint directory */
    public Path directory() {
        return directory;
    }

    /** @return the configuration the weights were checked against */
    public GemmaConfig config() {
        return table.config();
    }

    /** @return the tensors the configuration needs, all present with their shapes */
    public TensorTable table() {
        return table;
    }

    /** @return the naming scheme detected from the stored keys */
    public TensorNaming scheme() {
        return scheme;
    }

    /** @return (vocab, hidden); also the output projection (tied) */
    public TensorData embedTokens() {
        return tensor(TensorKind.TOKEN_EMBEDDING);
    }

    /** @return (hidden), the final RMSNorm weight */
    public TensorData finalNorm() {
        return tensor(TensorKind.OUTPUT_NORM);
    }

    /**
     * @param slot a slot of this checkpoint's {@link #table()}
     * @return its tensor
     */
    public TensorData tensor(TensorSlot slot) {
        return tensor(slot.name());
    }

    /**
     * @param kind a kind that exists once, e.g. {@link TensorKind#TOKEN_EMBEDDING}
     * @return its tensor
     * @throws IllegalArgumentException for a per-layer kind, or a vision kind without a vision tower
     */
    public TensorData tensor(TensorKind kind) {
        return tensor(table.get(kind));
    }

    /**
     * @param kind  a per-layer kind, e.g. {@link TensorKind#ATTN_Q}
     * @param layer text or vision layer index, after the kind
     * @return that layer's tensor
     * @throws IndexOutOfBoundsException when the layer does not exist
     */
    public TensorData tensor(TensorKind kind, int layer) {
        return tensor(table.get(kind, layer));
    }

    /**
     * @param canonicalName scheme-free name, e.g. {@code layers.0.mlp.up_proj.weight} or
     *     {@code vision_tower.vision_model.post_layernorm.weight}
     * @return the tensor
     * @throws ModelLoadException when the checkpoint lacks it
     */
    public TensorData tensor(String canonicalName) {
        String key = scheme.fileName(canonicalName);
        TensorData t = byKey.get(key);
        if (t == null) {
            throw new ModelLoadException("tensor " + key + " (canonical " + canonicalName + ") not found in checkpoint "
                    + directory);
        }
        return t;
    }

    /** @return whether the checkpoint holds the tensor */
    public boolean contains(String canonicalName) {
        try {
            return byKey.containsKey(scheme.fileName(canonicalName));
        } catch (ModelLoadException e) {
            return false;
        }
    }

    /** @return every stored key (all schemes' prefixes included as stored) */
    public Set<String> storedKeys() {
        return byKey.keySet();
    }

    /** @return the safetensors files backing these weights */
    public List<Path> files() {
        List<Path> out = new ArrayList<>();
        files.forEach(f -> out.add(f.path()));
        return out;
    }

    /** Closes the files; tensors already handed out stay readable while referenced. */
    @Override
    public void close() {
        ModelLoadException first = null;
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (ModelLoadException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
