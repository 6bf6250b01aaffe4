package dev.gemmaflink.runtime.weights;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.gemmaflink.runtime.ModelLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code model.safetensors.index.json}: which shard file holds each tensor. */
final class ShardIndex {
    static final String FILE_NAME = "model.safetensors.index.json";
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private ShardIndex() {
    }

    /**
     * @return tensor key to shard file name, validated: every shard a plain file name inside the model directory
     *     that exists
     */
    static Map<String, String> read(Path indexFile) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(indexFile));
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException("cannot read shard index " + indexFile + ": " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new ModelLoadException("shard index " + indexFile + " has no weight_map object");
        }
        Path dir = indexFile.toAbsolutePath().getParent();
        Map<String, String> out = new LinkedHashMap<>();
        Map<String, Boolean> checked = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            if (!e.getValue().isTextual()) {
                throw new ModelLoadException("shard index " + indexFile + ": entry for tensor " + e.getKey()
                        + " is not a file name");
            }
            String shard = e.getValue().asText();
            // A shard must sit next to the index: refuse paths that would read elsewhere.
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals("..") || shard.equals(".")) {
                throw new ModelLoadException("shard index " + indexFile + ": tensor " + e.getKey() + " names shard '"
                        + shard + "', which is not a plain file name");
            }
            if (!checked.computeIfAbsent(shard, s -> Files.isRegularFile(dir.resolve(s)))) {
                throw new ModelLoadException("shard index " + indexFile + " names shard " + shard + " (for tensor "
                        + e.getKey() + ") which does not exist in " + dir);
            }
            out.put(e.getKey(), shard);
        }
        if (out.isEmpty()) {
            throw new ModelLoadException("shard index " + indexFile + " has an empty weight_map");
        }
        return out;
    }
}
