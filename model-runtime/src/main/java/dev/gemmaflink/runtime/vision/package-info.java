/**
 * Gemma 3 image input: decoding ({@link dev.gemmaflink.runtime.vision.ImageDecoder}, limits checked before
 * decoding, EXIF orientation), preprocessing as transformers' {@code Gemma3ImageProcessor}
 * ({@link dev.gemmaflink.runtime.vision.ImagePreprocessor}: PIL-exact bilinear resize, rescale, normalise, Pan &amp;
 * Scan crops), the SigLIP tower and multimodal projector as generated TorchScript
 * ({@link dev.gemmaflink.runtime.vision.ImageEncoder}), and token-level prompt assembly
 * ({@link dev.gemmaflink.runtime.vision.ImagePrompt}).
 *
 * <p>Flow for one request:
 * <pre>{@code
 * PreparedImage img = ImagePreprocessor.forVision(vcfg).prepare(bytes, decoder, panAndScan); // hash + views
 * PromptTokens p = new ImagePrompt(cfg, s -> tok.encode(s, false)).build(text, List.of(img), true);
 * try (ImageEmbeddings e = encoder.encode(p.inputs())) {               // (views, mm_tokens, hidden) float32
 *     PromptImages soft = PromptImages.place(p.spans(), e.toFloatArrays()); // soft rows at their positions
 *     generator.generate(p.ids(), soft, params, listener);
 * }
 * }</pre>
 * {@link dev.gemmaflink.runtime.vision.ImageCaptioner} does all of it for a text prompt and image bytes.
 * Cache keys: {@link dev.gemmaflink.runtime.kvcache.ImageSpan#contentKey()} (SHA-256 of the bytes, plus the crop
 * window for crops) identifies the soft embeddings; {@link dev.gemmaflink.runtime.vision.PromptTokens#spans()} are
 * the spans for {@code kvcache.CacheKeys} as well.
 */
package dev.gemmaflink.runtime.vision;
