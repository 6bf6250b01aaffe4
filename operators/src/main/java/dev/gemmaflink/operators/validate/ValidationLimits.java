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
 * @param maxRequestIdChars longest request id, in UTF-16 chars
 * @param maxTenantChars longest tenant, in UTF-16 chars
 * @param maxKeyChars longest session key, in UTF-16 chars
 */
public record ValidationLimits(int maxTextChars, int maxImageBytes, Set<String> mediaTypes, int maxNewTokens,
        int maxRequestIdChars, int maxTenantChars, int maxKeyChars) implements Serializable {

    public ValidationLimits {
        if (maxTextChars < 1 || maxImageBytes < 1 || maxNewTokens < 1) {
            throw new IllegalArgumentException(String.format(
                    "limits must be positive: maxTextChars=%d maxImageBytes=%d maxNewTokens=%d",
                    maxTextChars, maxImageBytes, maxNewTokens));
        }
        if (maxRequestIdChars < 1 || maxTenantChars < 1 || maxKeyChars < 1) {
            throw new IllegalArgumentException(String.format(
                    "limits must be positive: maxRequestIdChars=%d maxTenantChars=%d maxKeyChars=%d",
                    maxRequestIdChars, maxTenantChars, maxKeyChars));
        }
        mediaTypes = Set.copyOf(mediaTypes.stream().map(s -> s.trim().toLowerCase(java.util.Locale.ROOT)).toList());
    }

    /**
     * Limits with the default bounds of the identity fields ({@link EnrichmentOptions#MAX_REQUEST_ID_CHARS},
     * {@link EnrichmentOptions#MAX_TENANT_CHARS}, {@link EnrichmentOptions#MAX_KEY_CHARS}).
     */
    public ValidationLimits(int maxTextChars, int maxImageBytes, Set<String> mediaTypes, int maxNewTokens) {
        this(maxTextChars, maxImageBytes, mediaTypes, maxNewTokens,
                EnrichmentOptions.MAX_REQUEST_ID_CHARS.defaultValue(),
                EnrichmentOptions.MAX_TENANT_CHARS.defaultValue(), EnrichmentOptions.MAX_KEY_CHARS.defaultValue());
    }

    /** The limits configured by {@link EnrichmentOptions}. */
    public static ValidationLimits from(ReadableConfig conf) {
        List<String> types = conf.get(EnrichmentOptions.MEDIA_TYPES);
        return new ValidationLimits(conf.get(EnrichmentOptions.MAX_TEXT_CHARS),
                conf.get(EnrichmentOptions.MAX_IMAGE_BYTES), Set.copyOf(types),
                conf.get(EnrichmentOptions.MAX_NEW_TOKENS), conf.get(EnrichmentOptions.MAX_REQUEST_ID_CHARS),
                conf.get(EnrichmentOptions.MAX_TENANT_CHARS), conf.get(EnrichmentOptions.MAX_KEY_CHARS));
    }
}
