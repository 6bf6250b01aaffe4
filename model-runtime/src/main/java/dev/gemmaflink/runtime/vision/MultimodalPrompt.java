package dev.gemmaflink.runtime.vision;

import dev.gemmaflink.runtime.kvcache.ImageSpan;
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

    /**
     * Places encoder output rows at the spans' positions.
     *
     * @param tokens     the assembled prompt
     * @param embeddings encoder output for {@link PromptTokens#inputs()}, in that order
     * @throws IllegalArgumentException when the encoder output does not fit the spans
     */
    public static PromptImages place(PromptTokens tokens, ImageEmbeddings embeddings) {
        List<ImageSpan> spans = tokens.spans();
        int m = embeddings.tokensPerImage();
        int e = embeddings.hidden();
        float[] all = embeddings.toFloatArray();
        for (int i = 0; i < spans.size(); i++) {
            ImageSpan s = spans.get(i);
            if (s.length() != m || i >= embeddings.count()) {
                throw new IllegalArgumentException("span " + s + " does not fit " + embeddings.count() + " encoded inputs of "
                        + m + " soft tokens");
            }
        }
        return new PromptImages(spans, java.util.Arrays.copyOf(all, spans.size() * m * e));
    }
}
