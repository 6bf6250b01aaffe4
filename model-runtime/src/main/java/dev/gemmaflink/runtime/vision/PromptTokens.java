package dev.gemmaflink.runtime.vision;

import dev.gemmaflink.runtime.kvcache.ImageSpan;
import java.util.List;
import java.util.Objects;

/**
 * An assembled multimodal prompt: token ids (soft-token positions hold {@code image_token_index}), the spans of soft
 * tokens in position order, and the encoder input that fills each span.
 *
 * <p>Span {@code i} is filled by {@code inputs.get(i)}: the images in prompt order, each whole image followed by its
 * Pan &amp; Scan crops, which is also the order of an encoder batch over all the prompt's views.
 *
 * @param ids    token ids (not copied: treat as read-only)
 * @param spans  one span per encoder input, in position order; {@link ImageSpan#contentKey()} is the image's content
 *               hash, plus the crop window for a crop
 * @param inputs the encoder input (a view of a {@link PreparedImage}) of each span, same order and size as
 *               {@code spans}
 */
public record PromptTokens(int[] ids, List<ImageSpan> spans, List<PreprocessedImage> inputs) {
    /** Copies the lists; checks that every span has its input. */
    public PromptTokens {
        Objects.requireNonNull(ids, "ids");
        spans = List.copyOf(spans);
        inputs = List.copyOf(inputs);
        if (spans.size() != inputs.size()) {
            throw new IllegalArgumentException("prompt tokens: " + spans.size() + " image spans but " + inputs.size()
                    + " encoder inputs");
        }
    }

    /** @return the index of the span holding position {@code pos}, or -1 for a text position */
    public int spanAt(int pos) {
        for (int i = 0; i < spans.size(); i++) {
            if (spans.get(i).contains(pos)) {
                return i;
            }
        }
        return -1;
    }
}
