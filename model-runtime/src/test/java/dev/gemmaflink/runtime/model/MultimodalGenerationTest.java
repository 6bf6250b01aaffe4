package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.generate.GenerationResult;
import dev.gemmaflink.runtime.generate.Generator;
import dev.gemmaflink.runtime.kvcache.ImageSpan;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import dev.gemmaflink.runtime.vision.ImageCaptioner;
import dev.gemmaflink.runtime.vision.ImageDecodeException;
import dev.gemmaflink.runtime.vision.ImageDecoder;
import dev.gemmaflink.runtime.vision.ImageEncoder;
import dev.gemmaflink.runtime.vision.MultimodalPrompt;
import dev.gemmaflink.runtime.vision.PanAndScanOptions;
import dev.gemmaflink.runtime.vision.ReferenceSiglip;
import dev.gemmaflink.runtime.weights.DType;
import dev.gemmaflink.runtime.weights.GemmaWeights;
import dev.gemmaflink.runtime.weights.TensorNaming;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end on a tiny multimodal checkpoint: image bytes -> decoder -> preprocessing -> SigLIP + projector ->
 * prompt assembly -> text model with soft tokens and bidirectional image attention -> greedy decoding, in FLOAT32,
 * against the independent references (ReferenceSiglip for the soft tokens, ReferenceGemma for the text model,
 * re-running the whole sequence per step). The greedy tokens must be equal.
 */
class MultimodalGenerationTest {
    private static final int STEPS = 5;

    @TempDir
    Path tmp;

    private static byte[] image(int w, int h, String format) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, (x * 255 / w) << 16 | (y * 255 / h) << 8 | ((x ^ y) * 9 & 0xFF));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, format, out);
        return out.toByteArray();
    }

    @Test
    void captionsAPngAndAJpegLikeTheReference() throws IOException {
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp.resolve("mm"), TinyCheckpointSpec.builder()
                .scheme(TensorNaming.LANGUAGE_MODEL).dtype(DType.F32).seed(21)
                .vision(new VisionConfig(32, 64, 2, 2, 3, 56, 14, 1e-6)).mmTokensPerImage(4)
                .imageTokenIds(6, 7, 262_144).build());
        ModelOptions f32 = ModelOptions.builder().precision(Precision.FLOAT32).threads(1).build();
        GenerationParams greedy = GenerationParams.builder().temperature(0).maxNewTokens(STEPS).stopIds().build();
        ReferenceGemma refText = ModelTestSupport.reference(ckpt, Precision.FLOAT32);
        ReferenceSiglip refVision = new ReferenceSiglip(ckpt.values(), 32, 64, 2, 2, 56, 14, 1e-6, 4, 64);
        try (GemmaTokenizer tok = GemmaTokenizer.load(ckpt.directory());
             GemmaModel model = GemmaModel.load(ckpt.directory(), f32, LoadProgress.NONE);
             GemmaWeights w = GemmaWeights.open(ckpt.directory(), ckpt.config());
             ImageEncoder enc = ImageEncoder.load(w, f32);
             Generator gen = new Generator(model, tok, 0, 8)) { // chunk 8: the chunking must keep each image whole
            ImageCaptioner cap = new ImageCaptioner(enc, tok, new ImageDecoder());
            for (String format : new String[] {"png", "jpeg"}) {
                MultimodalPrompt mp = cap.prepare("Describe the image.", false, List.of(image(70, 40, format)),
                        PanAndScanOptions.DISABLED);
                assertThat(mp.tokens().spans()).hasSize(1);
                GenerationResult r = gen.generate(mp.ids(), mp.images(), greedy, null);
                int[] expected = referenceGreedy(refText, refVision, mp, STEPS);
                assertThat(r.tokens()).as(format).containsExactly(expected);
            }
            // the image changes the output: a different picture gives different first logits
            MultimodalPrompt a = cap.prepare("x", false, List.of(image(70, 40, "png")), PanAndScanOptions.DISABLED);
            MultimodalPrompt b = cap.prepare("x", false, List.of(image(20, 60, "png")), PanAndScanOptions.DISABLED);
            assertThat(a.images().embeddings()).isNotEqualTo(b.images().embeddings());
            byte[] truncated = Arrays.copyOf(image(70, 40, "png"), 60);
            assertThatThrownBy(() -> cap.prepare("x", false, List.of(image(8, 8, "png"), truncated),
                    PanAndScanOptions.DISABLED))
                    .isInstanceOf(ImageDecodeException.class).hasMessageContaining("CORRUPT").hasMessageContaining("image 1");
        }
    }

    /** Greedy decoding with the references: the whole sequence re-run per step, double precision. */
    private static int[] referenceGreedy(ReferenceGemma text, ReferenceSiglip vision, MultimodalPrompt mp, int steps) {
        int[] prompt = mp.ids();
        int total = prompt.length + steps;
        double[][] soft = new double[total][];
        int[] span = new int[total];
        Arrays.fill(span, -1);
        int[] ids = Arrays.copyOf(prompt, total);
        List<ImageSpan> spans = mp.tokens().spans();
        for (int s = 0; s < spans.size(); s++) {
            ImageSpan sp = spans.get(s);
            double[][] rows = vision.forward(mp.tokens().inputs().get(s).pixels());
            for (int t = 0; t < sp.length(); t++) {
                soft[sp.start() + t] = rows[t];
                span[sp.start() + t] = s;
                ids[sp.start() + t] = 0; // never looked up
            }
        }
        int[] out = new int[steps];
        for (int k = 0; k < steps; k++) {
            int n = prompt.length + k;
            double[][] logits = text.forward(Arrays.copyOf(ids, n), Arrays.copyOf(soft, n), Arrays.copyOf(span, n));
            double[] last = logits[n - 1];
            int best = 0;
            for (int v = 1; v < last.length; v++) {
                if (last[v] > last[best]) {
                    best = v;
                }
            }
            out[k] = best;
            ids[n] = best;
        }
        return out;
    }
}
