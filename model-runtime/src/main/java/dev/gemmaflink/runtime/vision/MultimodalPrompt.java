package dev.gemmaflink.runtime.vision;

import dev.gemmaflink.runtime.model.PromptImages;
import java.util.List;
import java.util.Objects;

/**
 * A prompt ready for {@code Generator.generate(ids, images, ...)}: token ids, soft-token spans and the soft
 * embeddings placed at their positions.
 *
 * @param tokens the assembled ids and spans
 * @param images soft embeddings and spans for the text model
 * @param prepared the decoded, preprocessed images (hashes, crops)
 */
public record MultimodalPrompt(PromptTokens tokens, PromptImages images, List<PreparedImage> prepared) {
    /** Validates non-null parts. */
    public MultimodalPrompt {
        Objects.requireNonNull(tokens, "tokens");
        Objects.requireNonNull(images, "images");
        prepared = List.copyOf(prepared);
    }

    /** @return the prompt ids (BOS included) */
    public int[] ids() {
        return tokens.ids();
    }
}
