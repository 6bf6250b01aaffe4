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

    /**
     * Places encoder output rows at the spans' positions.
     *
     * @param tokens     the assembled prompt
     * @param embeddings encoder output for the inputs in span order ({@link ImageTokenSpan#inputIndex()})
     * @throws IllegalArgumentException when the encoder output does not fit the spans
     */
    public static PromptImages place(PromptTokens tokens, ImageEmbeddings embeddings) {
        List<ImageTokenSpan> spans = tokens.spans();
        int m = embeddings.tokensPerImage();
        int e = embeddings.hidden();
        float[] all = embeddings.toFloatArray();
        int total = 0;
        for (ImageTokenSpan s : spans) {
            if (s.length() != m || s.inputIndex() >= embeddings.count()) {
                throw new IllegalArgumentException("span " + s + " does not fit " + embeddings.count() + " encoded inputs of "
                        + m + " soft tokens");
            }
            total += m;
        }
        int[] positions = new int[total];
        float[] rows = new float[total * e];
        int[] starts = new int[spans.size()];
        int[] lengths = new int[spans.size()];
        int k = 0;
        for (int i = 0; i < spans.size(); i++) {
            ImageTokenSpan s = spans.get(i);
            starts[i] = s.start();
            lengths[i] = m;
            System.arraycopy(all, s.inputIndex() * m * e, rows, k * e, m * e);
            for (int t = 0; t < m; t++) {
                positions[k++] = s.start() + t;
            }
        }
        return new PromptImages(positions, rows, starts, lengths);
    }
}
