package dev.gemmaflink.operators.validate;

import static dev.gemmaflink.operators.TestRequests.caption;
import static dev.gemmaflink.operators.TestRequests.summarize;
import static dev.gemmaflink.operators.TestRequests.translate;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import dev.gemmaflink.operators.TestRequests;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.GenerationParameters;
import dev.gemmaflink.schemas.ImageData;

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
                Arguments.of(summarize("1", "t").setTask("DETECT").build(), ErrorCode.UNKNOWN_TASK,
                        "task 'DETECT' is not one of [CAPTION, CLASSIFY, EXTRACT, SUMMARIZE, TRANSLATE]"),
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
        assertThatThrownBy(() -> new ValidationLimits(1, 1, Set.of(), 1, 1, 0, 1))
                .hasMessageContaining("maxTenantChars=0");
    }

    static Stream<Arguments> controlCharacters() {
        return Stream.of(
                Arguments.of(summarize("id\u0000", "t").build(),
                        "requestId contains control character U+0000 at index 2"),
                Arguments.of(summarize("id\r\n", "t").build(),
                        "requestId contains control character U+000D at index 2"),
                Arguments.of(summarize("1", "t").setTenant("acm\ne").build(),
                        "tenant contains control character U+000A at index 3"),
                Arguments.of(summarize("1", "t").setTenant("a\tb").build(),
                        "tenant contains control character U+0009 at index 1"),
                Arguments.of(summarize("1", "t").setTenant("acme\u007f").build(),
                        "tenant contains control character U+007F at index 4"),
                Arguments.of(summarize("1", "t").setTenant("acme\u0085").build(),
                        "tenant contains control character U+0085 at index 4"),
                Arguments.of(summarize("1", "t").setTenant("ac\u2028me").build(),
                        "tenant contains control character U+2028 at index 2"),
                Arguments.of(summarize("1", "t").setTenant("ac\u2029me").build(),
                        "tenant contains control character U+2029 at index 2"),
                Arguments.of(summarize("1", "t").setKey("\u202Asession").build(),
                        "key contains control character U+202A at index 0"),
                Arguments.of(summarize("1", "t").setKey("session\u202E").build(),
                        "key contains control character U+202E at index 7"),
                Arguments.of(summarize("1", "t").setKey("s\u2066x").build(),
                        "key contains control character U+2066 at index 1"),
                Arguments.of(summarize("1", "t").setKey("s\u2069x").build(),
                        "key contains control character U+2069 at index 1"),
                Arguments.of(summarize("1", "t").setKey("\n").build(),
                        "key contains control character U+000A at index 0"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("controlCharacters")
    void controlCharactersInIdentityFieldsAreInvalidParameters(EnrichmentRequest request, String reason) {
        assertThat(validator.validate(request)).contains(new Rejection(ErrorCode.INVALID_PARAMETER, reason));
    }

    @Test
    void printableUnicodeInIdentityFieldsPasses() {
        // Letters of any script, emoji (surrogate pairs), the bidi marks U+200E/U+200F, which override nothing.
        assertThat(validator.validate(summarize("req-\u00e9\u4e2d", "t")
                .setTenant("\u0627\u0644\u0634\u0631\u0643\u0629").setKey("session \ud83d\ude00 \u200e1").build())).isEmpty();
    }

    @Test
    void identityFieldsLongerThanTheirBoundAreInvalidParameters() {
        RequestValidator bounded = new RequestValidator(TaskRegistry.defaults(),
                new ValidationLimits(20, 100, Set.of("image/png"), 64, 6, 4, 5));
        assertThat(bounded.validate(summarize("123456", "t").setTenant("abcd").setKey("12345").build())).isEmpty();
        assertThat(bounded.validate(summarize("1234567", "t").setTenant("abcd").build())).contains(new Rejection(
                ErrorCode.INVALID_PARAMETER,
                "requestId has 7 chars, more than the limit of 6 (validation.max-request-id-chars)"));
        assertThat(bounded.validate(summarize("1", "t").setTenant("abcde").build())).contains(new Rejection(
                ErrorCode.INVALID_PARAMETER,
                "tenant has 5 chars, more than the limit of 4 (validation.max-tenant-chars)"));
        assertThat(bounded.validate(summarize("1", "t").setTenant("abc").setKey("123456").build())).contains(
                new Rejection(ErrorCode.INVALID_PARAMETER,
                        "key has 6 chars, more than the limit of 5 (validation.max-key-chars)"));
        // The length is checked before the characters: a long value is refused for its length, not a line break.
        assertThat(bounded.validate(summarize("1", "t").setTenant("ab\ncd").build()))
                .hasValueSatisfying(r -> assertThat(r.reason()).startsWith("tenant has 5 chars"));
    }

    @Test
    void defaultIdentityBoundsAreTheOptionDefaults() {
        assertThat(LIMITS.maxRequestIdChars()).isEqualTo(256);
        assertThat(LIMITS.maxTenantChars()).isEqualTo(128);
        assertThat(LIMITS.maxKeyChars()).isEqualTo(256);
        assertThat(ValidationLimits.from(new org.apache.flink.configuration.Configuration()))
                .extracting(ValidationLimits::maxRequestIdChars, ValidationLimits::maxTenantChars,
                        ValidationLimits::maxKeyChars)
                .containsExactly(256, 128, 256);
        assertThat(validator.validate(summarize("r".repeat(256), "t").setTenant("t".repeat(128))
                .setKey("k".repeat(256)).build())).isEmpty();
        assertThat(validator.validate(summarize("1", "t").setTenant("t".repeat(129)).build()))
                .hasValueSatisfying(r -> assertThat(r.reason()).isEqualTo(
                        "tenant has 129 chars, more than the limit of 128 (validation.max-tenant-chars)"));
    }

    @Test
    void identityChecksComeRightAfterTheRequiredFields() {
        // A missing field still wins over a bad identity value; a bad identity value wins over an unknown task.
        assertThat(validator.validate(summarize(" ", "t").setTenant("a\nb").build()))
                .hasValueSatisfying(r -> assertThat(r.code()).isEqualTo(ErrorCode.MISSING_FIELD));
        assertThat(validator.validate(summarize("1", null).setTenant("a\nb").setTask("CLASSIFY").build()))
                .contains(new Rejection(ErrorCode.INVALID_PARAMETER,
                        "tenant contains control character U+000A at index 1"));
    }

    private static final List<String> FORMATS = List.of("image/jpeg", "image/png", "image/gif", "image/webp",
            "image/bmp");
    private final RequestValidator everyFormat = new RequestValidator(TaskRegistry.defaults(),
            new ValidationLimits(20, 100, Set.copyOf(FORMATS), 64));

    static Stream<Arguments> mismatchedImages() {
        Map<String, String> names = Map.of("image/jpeg", "JPEG", "image/png", "PNG", "image/gif", "GIF",
                "image/webp", "WebP", "image/bmp", "BMP");
        return FORMATS.stream().flatMap(declared -> FORMATS.stream().filter(actual -> !actual.equals(declared))
                .map(actual -> Arguments.of(declared, actual, names.get(actual))));
    }

    @ParameterizedTest(name = "declared {0}, bytes {2}")
    @MethodSource("mismatchedImages")
    void imageBytesOfAnotherFormatThanDeclaredAreUnreadable(String declared, String actual, String actualName) {
        EnrichmentRequest request = captionOf(TestRequests.imageBytes(32, actual), declared);
        assertThat(everyFormat.validate(request)).contains(new Rejection(ErrorCode.IMAGE_UNREADABLE,
                "image declared " + declared + " but its bytes are " + actualName));
    }

    @ParameterizedTest
    @ValueSource(strings = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"})
    void imageBytesOfTheDeclaredFormatPass(String mediaType) {
        assertThat(everyFormat.validate(captionOf(TestRequests.imageBytes(32, mediaType), mediaType))).isEmpty();
        assertThat(everyFormat.validate(captionOf(TestRequests.imageBytes(32, mediaType),
                " " + mediaType.toUpperCase(java.util.Locale.ROOT)))).isEmpty();
    }

    @Test
    void imageBytesOfNoKnownFormatAreUnreadable() {
        byte[] sevens = new byte[32];
        Arrays.fill(sevens, (byte) 7);
        assertThat(everyFormat.validate(captionOf(sevens, "image/png"))).contains(new Rejection(
                ErrorCode.IMAGE_UNREADABLE, "image declared image/png but its bytes are not a JPEG, PNG, GIF, WebP or "
                        + "BMP image (first bytes 0707070707070707)"));
        byte[] wave = "RIFF\0\0\0\0WAVEfmt ".getBytes(StandardCharsets.US_ASCII);
        assertThat(everyFormat.validate(captionOf(wave, "image/webp"))).hasValueSatisfying(r -> assertThat(r.reason())
                .isEqualTo("image declared image/webp but its bytes are not a JPEG, PNG, GIF, WebP or BMP image "
                        + "(first bytes 5249464600000000)"));
        // Both GIF versions, and a header cut inside the signature.
        assertThat(everyFormat.validate(captionOf("GIF87a;".getBytes(StandardCharsets.US_ASCII), "image/gif")))
                .isEmpty();
        assertThat(everyFormat.validate(captionOf("GIF88a;".getBytes(StandardCharsets.US_ASCII), "image/gif")))
                .hasValueSatisfying(r -> assertThat(r.code()).isEqualTo(ErrorCode.IMAGE_UNREADABLE));
        assertThat(everyFormat.validate(captionOf(TestRequests.imageBytes(5, "image/png"), "image/png")))
                .hasValueSatisfying(r -> assertThat(r.reason()).contains("first bytes 89504e470d)"));
    }

    @Test
    void anAcceptedTypeWithoutAKnownSignatureIsLeftToTheEnricher() {
        RequestValidator tiff = new RequestValidator(TaskRegistry.defaults(),
                new ValidationLimits(20, 100, Set.of("image/tiff"), 64));
        assertThat(tiff.validate(captionOf(TestRequests.imageBytes(32, "image/png"), "image/tiff"))).isEmpty();
    }

    @Test
    void signatureIsCheckedAfterTheMediaTypeAndTheSizeAndLeavesTheBufferAlone() {
        byte[] jpeg = TestRequests.imageBytes(101, "image/jpeg");
        assertThat(everyFormat.validate(captionOf(jpeg, "image/png"))).hasValueSatisfying(r -> assertThat(r.code())
                .isEqualTo(ErrorCode.IMAGE_TOO_LARGE));
        assertThat(validator.validate(captionOf(jpeg, "image/gif"))).hasValueSatisfying(r -> assertThat(r.code())
                .isEqualTo(ErrorCode.UNSUPPORTED_MEDIA_TYPE));
        ByteBuffer data = ByteBuffer.wrap(TestRequests.imageBytes(40, "image/png"), 4, 36).slice();
        EnrichmentRequest sliced = TestRequests.caption("s", 1, "image/png")
                .setImage(ImageData.newBuilder().setData(data).setMediaType("image/png").build()).build();
        assertThat(everyFormat.validate(sliced)).hasValueSatisfying(r -> assertThat(r.reason())
                .contains("first bytes 0d0a1a0a00000000"));
        ByteBuffer whole = ByteBuffer.wrap(TestRequests.imageBytes(40, "image/png"));
        assertThat(everyFormat.validate(TestRequests.caption("w", 1, "image/png")
                .setImage(ImageData.newBuilder().setData(whole).setMediaType("image/png").build()).build())).isEmpty();
        assertThat(whole.position()).isZero();
    }

    private static EnrichmentRequest captionOf(byte[] bytes, String mediaType) {
        return TestRequests.caption("img", 1, "image/png")
                .setImage(ImageData.newBuilder().setData(ByteBuffer.wrap(bytes)).setMediaType(mediaType).build())
                .build();
    }

    private static EnrichmentRequest withGeneration(GenerationParameters.Builder generation) {
        return summarize("1", "hi").setGeneration(generation.build()).build();
    }
}
