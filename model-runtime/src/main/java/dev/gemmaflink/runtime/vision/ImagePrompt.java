package dev.gemmaflink.runtime.vision;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.kvcache.ImageSpan;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * Assembles a multimodal prompt at the token level, as transformers' {@code Gemma3Processor} does at the text level.
 *
 * <p>The prompt text marks each image with the literal {@value #IMAGE_MARKER} (as the chat template writes it).
 * An image without crops becomes {@code "\n\n" <start_of_image> mm x <image_soft_token> <end_of_image> "\n\n"};
 * an image with {@code n} Pan &amp; Scan crops first becomes the reference layout
 * {@code "Here is the original image " IMG " and here are some crops to help you see better " IMG " " IMG ...}
 * with one IMG (expanded as above) per view. Special-token ids come from the {@link GemmaConfig}
 * ({@code boi_token_index}, {@code image_token_index}, {@code eoi_token_index}), so a tokenizer that lacks them
 * (the tiny test tokenizer) still works; text pieces go through the given encoder one piece at a time.
 */
public final class ImagePrompt {
    /** The image placeholder in prompt text (the text of {@code <start_of_image>}). */
    public static final String IMAGE_MARKER = "<start_of_image>";
    static final String ORIGINAL_PREFIX = "Here is the original image ";
    static final String CROPS_PREFIX = " and here are some crops to help you see better ";

    private final GemmaConfig config;
    private final Function<String, int[]> textEncoder;

    /**
     * @param config      supplies the special-token ids and {@code mm_tokens_per_image}
     * @param textEncoder encodes a text piece without BOS (e.g. {@code s -> tokenizer.encode(s, false)})
     */
    public ImagePrompt(GemmaConfig config, Function<String, int[]> textEncoder) {
        this.config = Objects.requireNonNull(config, "config");
        this.textEncoder = Objects.requireNonNull(textEncoder, "textEncoder");
    }

    /**
     * @param prompt prompt text with one {@value #IMAGE_MARKER} per image
     * @param images the images in marker order
     * @param addBos whether to start with {@code <bos>}
     * @return ids, soft-token spans and the encoder input of each span
     * @throws IllegalArgumentException when the number of markers and images differ
     */
    public PromptTokens build(String prompt, List<PreparedImage> images, boolean addBos) {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(images, "images");
        List<String> pieces = split(prompt);
        if (pieces.size() - 1 != images.size()) {
            throw new IllegalArgumentException("the prompt has " + (pieces.size() - 1) + " " + IMAGE_MARKER
                    + " markers but " + images.size() + " images were given");
        }
        IntList ids = new IntList();
        if (addBos) {
            ids.add(config.bosTokenId());
        }
        List<ImageSpan> spans = new ArrayList<>();
        List<PreprocessedImage> inputs = new ArrayList<>();
        for (int i = 0; i < pieces.size(); i++) {
            ids.addAll(encode(pieces.get(i)));
            if (i == images.size()) {
                break;
            }
            PreparedImage img = images.get(i);
            if (img.numCrops() > 0) {
                ids.addAll(encode(ORIGINAL_PREFIX));
            }
            spans.add(appendImage(ids, img, 0));
            inputs.add(img.views().get(0));
            if (img.numCrops() == 0) {
                continue;
            }
            ids.addAll(encode(CROPS_PREFIX));
            for (int c = 1; c <= img.numCrops(); c++) {
                if (c > 1) {
                    ids.addAll(encode(" "));
                }
                spans.add(appendImage(ids, img, c));
                inputs.add(img.views().get(c));
            }
        }
        return new PromptTokens(ids.toArray(), spans, inputs);
    }

    /** Appends view {@code view} of {@code img} (0: the whole image, k: crop k) and returns its span. */
    private ImageSpan appendImage(IntList ids, PreparedImage img, int view) {
        int[] nn = encode("\n\n");
        ids.addAll(nn);
        ids.add(config.boiTokenId());
        int start = ids.size();
        int mm = config.mmTokensPerImage();
        for (int t = 0; t < mm; t++) {
            ids.add(config.imageTokenId());
        }
        ids.add(config.eoiTokenId());
        ids.addAll(nn);
        String key = img.contentHash();
        if (view > 0) {
            CropBox b = img.crops().get(view - 1);
            key = key + "#crop:" + b.x() + "," + b.y() + "," + b.width() + "x" + b.height();
        }
        return new ImageSpan(start, mm, key);
    }

    private int[] encode(String text) {
        return text.isEmpty() ? new int[0] : textEncoder.apply(text);
    }

    /** Splits around every marker: n markers give n + 1 pieces (possibly empty). */
    static List<String> split(String prompt) {
        List<String> out = new ArrayList<>();
        int from = 0;
        while (true) {
            int at = prompt.indexOf(IMAGE_MARKER, from);
            if (at < 0) {
                out.add(prompt.substring(from));
                return out;
            }
            out.add(prompt.substring(from, at));
            from = at + IMAGE_MARKER.length();
        }
    }

    /** A growable int array (prompts reach tens of thousands of ids). */
    private static final class IntList {
        private int[] a = new int[256];
        private int n;

        void add(int v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        void addAll(int[] vs) {
            for (int v : vs) {
                add(v);
            }
        }

        int size() {
            return n;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
