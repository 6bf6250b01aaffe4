package dev.gemmaflink.operators.enrich;

import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.ImageData;

/**
 * A deterministic stand-in for a model: the output is the task tag and the input, e.g.
 * {@code "[TRANSLATE:fr] hello world"} or {@code "[CAPTION] <image/png 1234 bytes> prompt"}.
 *
 * <p>Tokens are whitespace-separated words; {@code generation.maxNewTokens} truncates the output and gives finish
 * reason {@code LENGTH}. A request whose text contains the fail marker completes exceptionally with
 * {@link ErrorCode#ENRICHMENT_FAILED}, to exercise the failure path. Completes synchronously.
 */
public final class EchoEnricher implements Enricher {
    private static final long serialVersionUID = 1L;

    /** The model id results of this enricher carry. */
    public static final String MODEL_ID = "echo";

    private final String failMarker;

    /** @param failMarker text that makes a request fail; empty or null disables */
    public EchoEnricher(String failMarker) {
        this.failMarker = failMarker == null ? "" : failMarker;
    }

    @Override
    public CompletableFuture<EnrichmentResult> enrich(ValidatedRequest validated) {
        long start = System.nanoTime();
        EnrichmentRequest request = validated.request();
        String text = request.getText() == null ? "" : request.getText();
        if (!failMarker.isEmpty() && text.contains(failMarker)) {
            return CompletableFuture.failedFuture(new EnrichmentException(ErrorCode.ENRICHMENT_FAILED,
                    "echo enricher: text contains the fail marker '" + failMarker + "'"));
        }
        String[] words = render(request).split("\\s+");
        int limit = request.getGeneration() != null && request.getGeneration().getMaxNewTokens() != null
                ? request.getGeneration().getMaxNewTokens() : Integer.MAX_VALUE;
        boolean truncated = words.length > limit;
        String output = String.join(" ", truncated ? Arrays.copyOf(words, limit) : words);
        long millis = (System.nanoTime() - start) / 1_000_000;
        EnrichmentResult result = EnrichmentResult.newBuilder()
                .setRequestId(request.getRequestId())
                .setTenant(request.getTenant())
                .setKey(request.getKey())
                .setTask(request.getTask())
                .setOutputText(output)
                .setModelId(MODEL_ID)
                .setFinishReason(truncated ? "LENGTH" : "STOP")
                .setPromptTokens(countWords(text) + (request.getImage() == null ? 0 : 1))
                .setOutputTokens(truncated ? limit : words.length)
                .setCachedPromptTokens(0)
                .setQueueMillis(0)
                .setFirstTokenMillis(millis)
                .setTotalMillis(millis)
                .setProcessingTime(Instant.now())
                .build();
        return CompletableFuture.completedFuture(result);
    }

    /** The untruncated output for a request. */
    static String render(EnrichmentRequest request) {
        StringBuilder out = new StringBuilder("[").append(request.getTask());
        if (request.getTargetLanguage() != null) {
            out.append(':').append(request.getTargetLanguage());
        }
        out.append(']');
        ImageData image = request.getImage();
        if (image != null && image.getData() != null) {
            out.append(" <").append(image.getMediaType()).append(' ').append(image.getData().remaining())
                    .append(" bytes>");
        }
        if (request.getText() != null && !request.getText().isBlank()) {
            out.append(' ').append(request.getText().strip());
        }
        return out.toString();
    }

    private static int countWords(String text) {
        String stripped = text.strip();
        return stripped.isEmpty() ? 0 : stripped.split("\\s+").length;
    }
}
