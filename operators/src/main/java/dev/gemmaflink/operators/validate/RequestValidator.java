package dev.gemmaflink.operators.validate;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.IllformedLocaleException;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

import org.apache.flink.configuration.ConfigOption;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.GenerationParameters;
import dev.gemmaflink.schemas.ImageData;

/**
 * Checks a decoded request against the task registry and the limits; returns the first problem found.
 *
 * <p>Order: identity fields present, identity fields' length and characters, task, text, image, target language,
 * generation parameters. Optional inputs that are present are checked too (a caption prompt over the text limit is
 * refused like any text, a session key like the required fields).
 *
 * <p>The identity fields are bounded and may hold no control characters because of where they go: the tenant
 * salts the engine's prefix-cache keys and, like the request id, is written into logs, metrics and dead letters,
 * where a line break or a bidi override would forge or hide text; the key is the routing key the stream is
 * partitioned by and that keeps a session on one subtask.
 */
public final class RequestValidator implements Serializable {
    private static final long serialVersionUID = 1L;

    private final TaskRegistry tasks;
    private final ValidationLimits limits;

    public RequestValidator(TaskRegistry tasks, ValidationLimits limits) {
        this.tasks = Objects.requireNonNull(tasks, "tasks");
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /**
     * The media type of an image told by its magic bytes ({@code image/jpeg}, {@code image/png}, {@code image/gif},
     * {@code image/webp}, {@code image/bmp}), for callers whose images come without one (SQL rows); empty for bytes
     * of no known format.
     */
    public static Optional<String> mediaTypeOf(ByteBuffer data) {
        return ImageSignature.of(data).map(f -> "image/" + f.name().toLowerCase(Locale.ROOT));
    }

    /** Empty when the request is valid, else the first rejection. */
    public Optional<Rejection> validate(EnrichmentRequest request) {
        if (isBlank(request.getRequestId())) {
            return reject(ErrorCode.MISSING_FIELD, "requestId is missing or blank");
        }
        if (isBlank(request.getTenant())) {
            return reject(ErrorCode.MISSING_FIELD, "tenant is missing or blank");
        }
        Optional<Rejection> identity = checkIdentity(request);
        if (identity.isPresent()) {
            return identity;
        }
        Optional<TaskSpec> found = tasks.find(request.getTask());
        if (found.isEmpty()) {
            return reject(ErrorCode.UNKNOWN_TASK, String.format("task '%s' is not one of %s", request.getTask(),
                    tasks.names()));
        }
        TaskSpec task = found.get();
        String text = request.getText();
        if (task.needsText() && isBlank(text)) {
            return reject(ErrorCode.MISSING_TEXT, "task " + task.name() + " needs text, got "
                    + (text == null ? "none" : "blank text"));
        }
        if (text != null && text.length() > limits.maxTextChars()) {
            return reject(ErrorCode.TEXT_TOO_LONG, String.format("text has %d chars, more than the limit of %d",
                    text.length(), limits.maxTextChars()));
        }
        Optional<Rejection> image = checkImage(task, request.getImage());
        if (image.isPresent()) {
            return image;
        }
        Optional<Rejection> language = checkLanguage(task, request.getTargetLanguage());
        if (language.isPresent()) {
            return language;
        }
        return checkGeneration(request.getGeneration());
    }

    private Optional<Rejection> checkIdentity(EnrichmentRequest request) {
        return checkIdentifier("requestId", request.getRequestId(), limits.maxRequestIdChars(),
                EnrichmentOptions.MAX_REQUEST_ID_CHARS)
                .or(() -> checkIdentifier("tenant", request.getTenant(), limits.maxTenantChars(),
                        EnrichmentOptions.MAX_TENANT_CHARS))
                .or(() -> request.getKey() == null ? Optional.empty()
                        : checkIdentifier("key", request.getKey(), limits.maxKeyChars(),
                                EnrichmentOptions.MAX_KEY_CHARS));
    }

    /** A length above the bound, else the first control character, is INVALID_PARAMETER naming the field. */
    private static Optional<Rejection> checkIdentifier(String field, String value, int maxChars,
            ConfigOption<Integer> option) {
        if (value.length() > maxChars) {
            return reject(ErrorCode.INVALID_PARAMETER, String.format("%s has %d chars, more than the limit of %d (%s)",
                    field, value.length(), maxChars, option.key()));
        }
        for (int i = 0; i < value.length(); i++) {
            if (isControl(value.charAt(i))) {
                return reject(ErrorCode.INVALID_PARAMETER, String.format(
                        "%s contains control character U+%04X at index %d", field, (int) value.charAt(i), i));
            }
        }
        return Optional.empty();
    }

    /**
     * ISO control characters (C0, DEL, C1: line breaks, tabs, NUL, escapes), the line and paragraph separators
     * U+2028 and U+2029, and the bidi embeddings, overrides and isolates U+202A to U+202E and U+2066 to U+2069. All
     * are in the Basic Multilingual Plane, so checking UTF-16 chars one by one finds every one of them.
     */
    private static boolean isControl(char c) {
        return Character.isISOControl(c) || c == '\u2028' || c == '\u2029' || (c >= '\u202A' && c <= '\u202E')
                || (c >= '\u2066' && c <= '\u2069');
    }

    private Optional<Rejection> checkImage(TaskSpec task, ImageData image) {
        ByteBuffer data = image == null ? null : image.getData();
        if (data == null || !data.hasRemaining()) {
            return task.needsImage()
                    ? reject(ErrorCode.MISSING_IMAGE, "task " + task.name() + " needs an image, got "
                            + (image == null ? "none" : "zero bytes"))
                    : Optional.empty();
        }
        String mediaType = image.getMediaType() == null ? "" : image.getMediaType().trim().toLowerCase(Locale.ROOT);
        if (!limits.mediaTypes().contains(mediaType)) {
            return reject(ErrorCode.UNSUPPORTED_MEDIA_TYPE, String.format("image media type '%s' is not one of %s",
                    image.getMediaType(), limits.mediaTypes().stream().sorted().toList()));
        }
        if (data.remaining() > limits.maxImageBytes()) {
            return reject(ErrorCode.IMAGE_TOO_LARGE, String.format("image has %d bytes, more than the limit of %d",
                    data.remaining(), limits.maxImageBytes()));
        }
        return checkSignature(mediaType, data);
    }

    /**
     * The bytes must start with the magic of the declared format. A declared type without a known signature (one
     * added to {@code validation.media-types} that {@link ImageSignature} does not list) is left to the enricher.
     */
    private static Optional<Rejection> checkSignature(String mediaType, ByteBuffer data) {
        Optional<ImageSignature> declared = ImageSignature.declaredBy(mediaType);
        if (declared.isEmpty()) {
            return Optional.empty();
        }
        Optional<ImageSignature> actual = ImageSignature.of(data);
        if (actual.isEmpty()) {
            return reject(ErrorCode.IMAGE_UNREADABLE, String.format(
                    "image declared %s but its bytes are not a %s image (first bytes %s)", mediaType,
                    ImageSignature.names(), ImageSignature.firstBytes(data, 8)));
        }
        if (actual.get() != declared.get()) {
            return reject(ErrorCode.IMAGE_UNREADABLE, String.format("image declared %s but its bytes are %s",
                    mediaType, actual.get()));
        }
        return Optional.empty();
    }

    private static Optional<Rejection> checkLanguage(TaskSpec task, String tag) {
        if (isBlank(tag)) {
            return task.needsTargetLanguage()
                    ? reject(ErrorCode.MISSING_LANGUAGE, "task " + task.name() + " needs a targetLanguage")
                    : Optional.empty();
        }
        try {
            // Locale.Builder is strict BCP-47 (forLanguageTag silently drops what it cannot parse).
            Locale locale = new Locale.Builder().setLanguageTag(tag).build();
            if (locale.getLanguage().isEmpty()) {
                return reject(ErrorCode.INVALID_LANGUAGE, "targetLanguage '" + tag + "' has no language subtag");
            }
            return Optional.empty();
        } catch (IllformedLocaleException e) {
            return reject(ErrorCode.INVALID_LANGUAGE, "targetLanguage '" + tag + "' is not a well-formed BCP-47 tag: "
                    + e.getMessage());
        }
    }

    private Optional<Rejection> checkGeneration(GenerationParameters g) {
        if (g == null) {
            return Optional.empty();
        }
        if (g.getMaxNewTokens() != null && (g.getMaxNewTokens() < 1 || g.getMaxNewTokens() > limits.maxNewTokens())) {
            return reject(ErrorCode.INVALID_PARAMETER, String.format("generation.maxNewTokens %d is outside [1, %d]",
                    g.getMaxNewTokens(), limits.maxNewTokens()));
        }
        if (g.getTemperature() != null && (!Float.isFinite(g.getTemperature()) || g.getTemperature() < 0f)) {
            return reject(ErrorCode.INVALID_PARAMETER, "generation.temperature " + g.getTemperature()
                    + " must be finite and >= 0");
        }
        if (g.getTopK() != null && g.getTopK() < 0) {
            return reject(ErrorCode.INVALID_PARAMETER, "generation.topK " + g.getTopK() + " must be >= 0");
        }
        if (g.getTopP() != null && !(g.getTopP() > 0f && g.getTopP() <= 1f)) {
            return reject(ErrorCode.INVALID_PARAMETER, "generation.topP " + g.getTopP() + " must be in (0, 1]");
        }
        return Optional.empty();
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }

    private static Optional<Rejection> reject(ErrorCode code, String reason) {
        return Optional.of(new Rejection(code, reason));
    }
}
