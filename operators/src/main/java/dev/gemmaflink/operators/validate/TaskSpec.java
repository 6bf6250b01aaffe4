package dev.gemmaflink.operators.validate;

import java.io.Serializable;
import java.util.Locale;
import java.util.Objects;

/**
 * What one task needs from a request.
 *
 * @param name upper-case task name as it appears in {@code EnrichmentRequest.task}
 * @param needsText text is required (otherwise optional, e.g. a prompt for CAPTION)
 * @param needsImage an image is required
 * @param needsTargetLanguage a target language is required
 */
public record TaskSpec(String name, boolean needsText, boolean needsImage, boolean needsTargetLanguage)
        implements Serializable {

    public TaskSpec {
        Objects.requireNonNull(name, "name");
        if (name.isBlank() || !name.equals(name.toUpperCase(Locale.ROOT))) {
            throw new IllegalArgumentException("task name must be non-blank upper case, got '" + name + "'");
        }
    }
}
