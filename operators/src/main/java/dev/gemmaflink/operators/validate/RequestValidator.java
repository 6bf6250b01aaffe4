package dev.gemmaflink.operators.validate;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.IllformedLocaleException;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.GenerationParameters;
import dev.gemmaflink.schemas.ImageData;

/**
 * Checks a decoded request against the task registry and the limits; returns the first problem found.
 *
 * <p>Order: identity fields, task, text, image, target language, generation parameters. Optional inputs that are
 * present are checked too (a caption prompt over the text limit is refused like any text).
 */
public final class RequestValidator implements Serializable {
    private static final long serialVersionUID = 1L;

    private final TaskRegistry tasks;
    private final ValidationLimits limits;

    public RequestValidator(TaskRegistry tasks, ValidationLimits limits) {
        this.tasks = Objects.requireNonNull(tasks, "tasks");
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /** Empty when the request is valid, else the first rejection. */
    public Optional<Rejection> validate(EnrichmentRequest request) {
        if (isBlank(request.getRequestId())) {
            return reject(ErrorCode.MISSING_FIELD, "requestId is missing or blank");
        }
        if (isBlank(request.getTenant())) {
            return reject(ErrorCode.MISSING_FIELD, "tenant is missing or blank");
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
