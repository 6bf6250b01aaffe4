package dev.gemmaflink.runtime.vision;

import dev.gemmaflink.runtime.model.PromptImages;
import dev.gemmaflink.runtime.tokenizer.ChatFormat;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Turns a text prompt plus image bytes into a {@link MultimodalPrompt}: decode and preprocess every image (with its
 * Pan &amp; Scan crops), encode all views in one batch, assemble the token-level prompt and place the soft tokens.
 *
 * <p>When the prompt has no {@value ImagePrompt#IMAGE_MARKER} markers, one per image is put in front of the text
 * (where the Gemma 3 chat template puts an image that precedes the text of a turn).
 *
 * <pre>{@code
 * ImageCaptioner cap = new ImageCaptioner(encoder, tokenizer, new ImageDecoder());
 * MultimodalPrompt p = cap.prepare("Describe the image.", true, List.of(jpegBytes), PanAndScanOptions.DISABLED);
 * GenerationResult r = generator.generate(p.ids(), p.images(), params, listener);
 * }</pre>
 */
public final class ImageCaptioner {
    private final ImageEncoder encoder;
    private final GemmaTokenizer tokenizer;
    private final ImageDecoder decoder;
    private final ImagePreprocessor preprocessor;
    private final ImagePrompt prompts;

    /**
     * @param encoder   the loaded vision encoder (not closed here)
     * @param tokenizer the model's tokenizer (not closed here)
     * @param decoder   the decoder with its limits
     */
    public ImageCaptioner(ImageEncoder encoder, GemmaTokenizer tokenizer, ImageDecoder decoder) {
        this.encoder = Objects.requireNonNull(encoder, "encoder");
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.decoder = Objects.requireNonNull(decoder, "decoder");
        this.preprocessor = ImagePreprocessor.forVision(encoder.config().vision().orElseThrow());
        this.prompts = new ImagePrompt(encoder.config(), s -> tokenizer.encode(s, false));
    }

    /**
     * @param prompt     the user text, with or without image markers
     * @param chat       wrap it as one user turn of the chat format
     * @param images     encoded image bytes, in prompt order
     * @param panAndScan crop settings for this request
     * @throws ImageDecodeException naming the image index when one cannot be decoded
     */
    public MultimodalPrompt prepare(String prompt, boolean chat, List<byte[]> images, PanAndScanOptions panAndScan) {
        Objects.requireNonNull(prompt, "prompt");
        if (images.isEmpty()) {
            throw new IllegalArgumentException("no images given: use the text generator");
        }
        String text = prompt.contains(ImagePrompt.IMAGE_MARKER) ? prompt
                : ImagePrompt.IMAGE_MARKER.repeat(images.size()) + prompt;
        if (chat) {
            text = ChatFormat.prompt(text);
        }
        List<PreparedImage> prepared = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            PreparedImage p;
            try {
                p = preprocessor.prepare(images.get(i), decoder, panAndScan);
            } catch (ImageDecodeException e) {
                throw new ImageDecodeException(e.reason(), "image " + i + ": " + e.getMessage().substring(
                        e.reason().name().length() + 2), e);
            }
            prepared.add(p);
        }
        PromptTokens tokens = prompts.build(text, prepared, true);
        try (ImageEmbeddings emb = encoder.encode(tokens.inputs())) {
            return new MultimodalPrompt(tokens, PromptImages.place(tokens.spans(), emb.toFloatArrays()), prepared);
        }
    }
}
