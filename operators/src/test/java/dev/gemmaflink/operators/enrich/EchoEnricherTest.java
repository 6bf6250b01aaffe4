package dev.gemmaflink.operators.enrich;

import static dev.gemmaflink.operators.TestRequests.caption;
import static dev.gemmaflink.operators.TestRequests.origin;
import static dev.gemmaflink.operators.TestRequests.summarize;
import static dev.gemmaflink.operators.TestRequests.translate;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.ExecutionException;

import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.GenerationParameters;

class EchoEnricherTest {

    private final EchoEnricher echo = new EchoEnricher("#FAIL#");

    @Test
    void echoesTheTaskTagAndTheInput() throws Exception {
        EnrichmentResult summary = enrich(summarize("1", "  the quick   brown fox ").setKey("k").build());
        assertThat(summary.getOutputText()).isEqualTo("[SUMMARIZE] the quick brown fox");
        assertThat(summary.getRequestId()).isEqualTo("1");
        assertThat(summary.getKey()).isEqualTo("k");
        assertThat(summary.getPromptTokens()).isEqualTo(4);
        assertThat(summary.getOutputTokens()).isEqualTo(5);
        assertThat(summary.getFinishReason()).isEqualTo("STOP");
        assertThat(summary.getModelId()).isEqualTo("echo");

        assertThat(enrich(translate("2", "hello", "fr").build()).getOutputText()).isEqualTo("[TRANSLATE:fr] hello");
        EnrichmentResult captioned = enrich(caption("3", 12, "image/png").setText("a prompt").build());
        assertThat(captioned.getOutputText()).isEqualTo("[CAPTION] <image/png 12 bytes> a prompt");
        assertThat(captioned.getPromptTokens()).isEqualTo(3);
    }

    @Test
    void maxNewTokensTruncatesWithFinishReasonLength() throws Exception {
        EnrichmentResult result = enrich(summarize("1", "one two three four")
                .setGeneration(GenerationParameters.newBuilder().setMaxNewTokens(3).build()).build());

        assertThat(result.getOutputText()).isEqualTo("[SUMMARIZE] one two");
        assertThat(result.getOutputTokens()).isEqualTo(3);
        assertThat(result.getFinishReason()).isEqualTo("LENGTH");
    }

    @Test
    void sameRequestGivesTheSameOutput() throws Exception {
        EnrichmentRequest request = translate("1", "stable text", "de").build();
        assertThat(enrich(request).getOutputText()).isEqualTo(enrich(request).getOutputText());
    }

    @Test
    void failMarkerFailsTheRequestWithEnrichmentFailed() {
        var future = echo.enrich(ValidatedRequest.of(origin(new byte[0]), summarize("1", "x #FAIL# y").build()));

        assertThat(future).isCompletedExceptionally();
        assertThat(future).failsWithin(java.time.Duration.ZERO).withThrowableOfType(ExecutionException.class)
                .havingCause().isInstanceOf(EnrichmentException.class)
                .satisfies(e -> assertThat(((EnrichmentException) e).code()).isEqualTo(ErrorCode.ENRICHMENT_FAILED));
    }

    @Test
    void providerIsFoundByName() {
        var conf = dev.gemmaflink.operators.config.OptionsLoader.load(null,
                java.util.Map.of("enrich.echo.fail-marker", "BOOM"));
        Enricher enricher = EnricherProvider.fromConfig(conf);
        assertThat(enricher).isInstanceOf(EchoEnricher.class);
        assertThat(enricher.enrich(ValidatedRequest.of(origin(new byte[0]), summarize("1", "BOOM").build())))
                .isCompletedExceptionally();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> EnricherProvider.fromConfig(
                dev.gemmaflink.operators.config.OptionsLoader.load(null, java.util.Map.of("enrich.enricher", "gpt"))))
                .hasMessageContaining("unknown enricher 'gpt'").hasMessageContaining("[echo, gemma]");
    }

    private EnrichmentResult enrich(EnrichmentRequest request) throws Exception {
        return echo.enrich(ValidatedRequest.of(origin(new byte[0]), request)).get();
    }
}
