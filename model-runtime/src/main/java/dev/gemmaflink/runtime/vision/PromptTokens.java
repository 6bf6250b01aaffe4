package dev.gemmaflink.runtime.vision;

import dev.gemmaflink.runtime.kvcache.ImageSpan;
import java.util.List;
import java.util.Objects;

/**
 * An assembled multimodal prompt: token ids (soft-token positions hold {@code image_token_index}) and the spans of
 * soft tokens, in position order.
 *
 * @param ids   token ids (not copied: treat as read-only)
 * @param spans one span per encoder input, in position order (equal to encoder batch order)
 */
public record PromptTokens(int[] ids, List<ImageTokenSpan> spans) {
    /** Copies the span list. */
    public PromptTokens {
        Objects.requireNonNull(ids, "ids");
        spans = List.copyOf(spans);
    }

    /** @return the spans as KV-cache image spans, for {@code CacheKeys.of(model, salt, spans)} */
    public List<ImageSpan> kvImageSpans() {
        return spans.stream().map(ImageTokenSpan::toKvImageSpan).toList();
    }

    /** @return the image index of position {@code pos}, or -1 for a text position */
    public int spanAt(int pos) {
        for (int i = 0; i < spans.size(); i++) {
            ImageTokenSpan s = spans.get(i);
            if (pos >= s.start() && pos < s.end()) {
                return i;
            }
        }
        return -1;
    }
}
