package dev.gemmaflink.operators.validate;

import static dev.gemmaflink.operators.TestRequests.caption;
import static dev.gemmaflink.operators.TestRequests.summarize;
import static dev.gemmaflink.operators.TestRequests.translate;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.GenerationParameters;

class RequestValidatorTest {

    private static final ValidationLimits LIMITS = new ValidationLimits(20, 100, Set.of("image/png", "Image/JPEG"),
            64);
    private final RequestValidator validator = new RequestValidator(TaskRegistry.defaults(), LIMITS);

    @Test
    void validRequestsOfEveryTaskPass() {
        assertThat(validator.validate(summarize("1", "some text").build())).isEmpty();
        assertThat(validator.validate(translate("2", "hello", "pt-BR").build())).isEmpty();
        assertThat(validator.validate(caption("3", 100, "image/png").build())).isEmpty();
        assertThat(validator.validate(caption("4", 10, "image/jpeg").setText("what is it?").build())).isEmpty();
        assertThat(validator.validate(summarize("5", "x").setGeneration(GenerationParameters.newBuilder()
                .setMaxNewTokens(64).setTemperature(0f).setTopK(0).setTopP(1f).setSeed(1L).build()).build()))
                .isEmpty();
    }

    static Stream<Arguments> invalidRequests() {
        return Stream.of(
                Arguments.of(summarize(" ", "t").build(), ErrorCode.MISSING_FIELD, "requestId"),
                Arguments.of(summarize("1", "t").setTenant("").build(), ErrorCode.MISSING_FIELD, "tenant"),
                Arguments.of(summarize("1", "t").setTask("CLASSIFY").build(), ErrorCode.UNKNOWN_TASK,
                        "task 'CLASSIFY' is not one of [CAPTION, SUMMARIZE, TRANSLATE]"),
                Arguments.of(summarize("1", "t").setTask("summarize").build(), ErrorCode.UNKNOWN_TASK, "summarize"),
                Arguments.of(summarize("1", null).build(), ErrorCode.MISSING_TEXT, "needs text, got none"),
                Arguments.of(summarize("1", "  ").build(), ErrorCode.MISSING_TEXT, "blank text"),
                Arguments.of(summarize("1", "x".repeat(21)).build(), ErrorCode.TEXT_TOO_LONG,
                        "21 chars, more than the limit of 20"),
                Arguments.of(caption("1", 0, "image/png").build(), ErrorCode.MISSING_IMAGE, "zero bytes"),
                Arguments.of(caption("1", 1, "image/png").setImage(null).build(), ErrorCode.MISSING_IMAGE,
                        "needs an image, got none"),
                Arguments.of(caption("1", 101, "image/png").build(), ErrorCode.IMAGE_TOO_LARGE,
                        "101 bytes, more than the limit of 100"),
                Arguments.of(caption("1", 10, "image/gif").build(), ErrorCode.UNSUPPORTED_MEDIA_TYPE, "image/gif"),
                Arguments.of(caption("1", 10, "image/png").setText("y".repeat(21)).build(), ErrorCode.TEXT_TOO_LONG,
                        "21 chars"),
                Arguments.of(translate("1", "hi", null).build(), ErrorCode.MISSING_LANGUAGE, "TRANSLATE"),
                Arguments.of(translate("1", "hi", "en_US").build(), ErrorCode.INVALID_LANGUAGE, "'en_US'"),
                Arguments.of(translate("1", "hi", "english!").build(), ErrorCode.INVALID_LANGUAGE, "'english!'"),
                Arguments.of(summarize("1", "hi").setTargetLanguage("x-private").build(), ErrorCode.INVALID_LANGUAGE,
                        "no language subtag"),
                Arguments.of(withGeneration(GenerationParameters.newBuilder().setMaxNewTokens(65)),
                        ErrorCode.INVALID_PARAMETER, "maxNewTokens 65 is outside [1, 64]"),
                Arguments.of(withGeneration(GenerationParameters.newBuilder().setMaxNewTokens(0)),
                        ErrorCode.INVALID_PARAMETER, "maxNewTokens 0"),
                Arguments.of(withGeneration(GenerationParameters.newBuilder().setTemperature(Float.NaN)),
                        ErrorCode.INVALID_PARAMETER, "temperature NaN"),
                Arguments.of(withGeneration(GenerationParameters.newBuilder().setTopK(-1)),
                        ErrorCode.INVALID_PARAMETER, "topK -1"),
                Arguments.of(withGeneration(GenerationParameters.newBuilder().setTopP(0f)),
                        ErrorCode.INVALID_PARAMETER, "topP 0.0"));
    }

    @ParameterizedTest(name = "{1}: {2}")
    @MethodSource("invalidRequests")
    void invalidRequestsAreRejectedWithCodeAndReason(EnrichmentRequest request, ErrorCode code, String reason) {
        assertThat(validator.validate(request)).hasValueSatisfying(r -> {
            assertThat(r.code()).isEqualTo(code);
            assertThat(r.reason()).contains(reason);
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"fr", "pt-BR", "zh-Hant-TW", "sr-Latn", "de-CH-1996"})
    void wellFormedLanguageTagsPass(String tag) {
        assertThat(validator.validate(translate("1", "hi", tag).build())).isEmpty();
    }

    @Test
    void registryRefusesDuplicatesAndLowerCaseNames() {
        assertThatThrownBy(() -> TaskRegistry.builder().add(TaskRegistry.CAPTION).add(TaskRegistry.CAPTION))
                .hasMessageContaining("task CAPTION is registered twice");
        assertThatThrownBy(() -> new TaskSpec("caption", false, true, false))
                .hasMessageContaining("upper case, got 'caption'");
        assertThatThrownBy(() -> new ValidationLimits(0, 1, Set.of(), 1)).hasMessageContaining("maxTextChars=0");
    }

    private static EnrichmentRequest withGeneration(GenerationParameters.Builder generation) {
        return summarize("1", "hi").setGeneration(generation.build()).build();
    }
}
