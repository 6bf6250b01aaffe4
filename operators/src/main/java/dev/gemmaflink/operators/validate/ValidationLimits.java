package dev.gemmaflink.operators.validate;

import java.io.Serializable;
import java.util.List;
import java.util.Set;

import org.apache.flink.configuration.ReadableConfig;

import dev.gemmaflink.operators.config.EnrichmentOptions;

/**
 * Size and value limits a request must respect.
 *
 * @param maxTextChars longest text, in UTF-16 chars
 * @param maxImageBytes largest encoded image
 * @param mediaTypes accepted image media types (lower case)
 * @param maxNewTokens largest accepted {@code generation.maxNewTokens}
 */
public record ValidationLimits(int maxTextChars, int maxImageBytes, Set<String> mediaTypes, int maxNewTokens)
        implements Serializable {

    public ValidationLimits {
        if (maxTextChars < 1 || maxImageBytes < 1 || maxNewTokens < 1) {
            throw new IllegalArgumentException(String.format(
                    "limits must be positive: maxTextChars=%d maxImageBytes=%d maxNewTokens=%d",
                    maxTextChars, maxImageBytes, maxNewTokens));
        }
        mediaTypes = Set.copyOf(mediaTypes.stream().map(s -> s.trim().toLowerCase(java.util.Locale.ROOT)).toList());
    }

    /** The limits configured by {@link EnrichmentOptions}. */
    public static ValidationLimits from(ReadableConfig conf) {
        List<String> types = conf.get(EnrichmentOptions.MEDIA_TYPES);
        return new ValidationLimits(conf.get(EnrichmentOptions.MAX_TEXT_CHARS),
                conf.get(EnrichmentOptions.MAX_IMAGE_BYTES), Set.copyOf(types),
                conf.get(EnrichmentOptions.MAX_NEW_TOKENS));
    }
}
