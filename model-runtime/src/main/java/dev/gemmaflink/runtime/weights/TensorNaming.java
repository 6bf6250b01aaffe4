package dev.gemmaflink.runtime.weights;

import dev.gemmaflink.runtime.ModelLoadException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The three tensor naming schemes of published Gemma 3 checkpoints, detected from the keys present.
 *
 * <p>Code asks for tensors by <em>canonical name</em> (listed by {@link TensorKind}): text tensors without any
 * prefix ({@code embed_tokens.weight}, {@code layers.3.mlp.up_proj.weight}, {@code norm.weight}); vision tensors
 * starting at {@code vision_tower.} or {@code multi_modal_projector.}. {@link #fileName(String)} maps a
 * canonical name to the key stored under this scheme.
 */
public enum TensorNaming {
    /** Text-only export (1B, Gemma3ForCausalLM): {@code model.layers.0...}; no vision tensors. */
    TEXT("model.", null),
    /** Original multimodal export (4B+): {@code language_model.model.layers.0...}, {@code vision_tower...}. */
    LANGUAGE_MODEL("language_model.model.", ""),
    /** Newer multimodal export: {@code model.language_model.layers.0...}, {@code model.vision_tower...}. */
    MODEL_LANGUAGE_MODEL("model.language_model.", "model.");

    /** Canonical prefix of the SigLIP tower. */
    public static final String VISION_TOWER = "vision_tower.";
    /** Canonical prefix of the multimodal projector. */
    public static final String PROJECTOR = "multi_modal_projector.";

    private final String textPrefix;
    private final String visionRoot; // null: this scheme carries no vision tensors

    TensorNaming(String textPrefix, String visionRoot) {
        this.textPrefix = textPrefix;
        this.visionRoot = visionRoot;
    }

    /** @return prefix of every text tensor key under this scheme */
    public String textPrefix() {
        return textPrefix;
    }

    /** @return whether this scheme can hold vision tensors */
    public boolean supportsVision() {
        return visionRoot != null;
    }

    /**
     * @param canonical canonical tensor name
     * @return the stored key under this scheme
     */
    public String fileName(String canonical) {
        if (isVision(canonical)) {
            if (visionRoot == null) {
                throw new ModelLoadException("naming scheme " + this + " (text-only checkpoint) has no vision tensor "
                        + canonical);
            }
            return visionRoot + canonical;
        }
        return textPrefix + canonical;
    }

    private static boolean isVision(String canonical) {
        return canonical.startsWith(VISION_TOWER) || canonical.startsWith(PROJECTOR);
    }

    /**
     * Detects the scheme from stored keys by locating the token embedding.
     *
     * @param keys every tensor key of the checkpoint
     * @param where the checkpoint location, for messages
     * @return the only scheme whose embedding key is present
     * @throws ModelLoadException when none or several match
     */
    public static TensorNaming detect(Set<String> keys, String where) {
        String embedding = TensorKind.TOKEN_EMBEDDING.canonicalName();
        List<TensorNaming> found = new ArrayList<>();
        for (TensorNaming n : values()) {
            if (keys.contains(n.fileName(embedding))) {
                found.add(n);
            }
        }
        if (found.size() == 1) {
            return found.get(0);
        }
        if (found.isEmpty()) {
            String sample = keys.stream().sorted().limit(5).collect(Collectors.joining(", "));
            String candidates = Arrays.stream(values()).map(n -> n.fileName(embedding)).collect(Collectors.joining(", "));
            throw new ModelLoadException("cannot find the token embedding in " + where + ": none of " + candidates
                    + " is present (" + keys.size() + " tensors"
                    + (sample.isEmpty() ? "" : ", e.g. " + sample) + ")");
        }
        throw new ModelLoadException("ambiguous tensor naming in " + where + ": embeddings of several schemes present "
                + found);
    }
}
