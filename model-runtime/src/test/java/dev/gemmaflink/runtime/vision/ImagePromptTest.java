package dev.gemmaflink.runtime.vision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.kvcache.ImageSpan;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class ImagePromptTest {
    private static final int BOI = 255_999;
    private static final int EOI = 256_000;
    private static final int IMG = 262_144;
    private static final int NN = 108;

    // A tokenizer stand-in with one id per known piece, so expected sequences can be written out by hand.
    private static final Map<String, int[]> PIECES = Map.of(
            "\n\n", new int[] {NN},
            "Describe: ", new int[] {10, 11},
            " Thanks.", new int[] {12},
            ImagePrompt.ORIGINAL_PREFIX, new int[] {20, 21},
            ImagePrompt.CROPS_PREFIX, new int[] {22, 23},
            " ", new int[] {24},
            " and ", new int[] {25});
    private static final Function<String, int[]> ENC = s -> {
        int[] ids = PIECES.get(s);
        if (ids == null) {
            throw new AssertionError("unexpected text piece '" + s + "'");
        }
        return ids;
    };

    private static final GemmaConfig CFG = GemmaConfig.builder().architecture(GemmaConfig.CONDITIONAL_GENERATION)
            .mmTokensPerImage(3).build();

    private static PreparedImage image(String hash, int crops) {
        List<CropBox> boxes = new ArrayList<>();
        List<PreprocessedImage> views = new ArrayList<>();
        views.add(new PreprocessedImage(1, new float[3], hash, 0));
        for (int i = 0; i < crops; i++) {
            boxes.add(new CropBox(i * 10, 0, 10, 5));
            views.add(new PreprocessedImage(1, new float[3], hash, i + 1));
        }
        return new PreparedImage(hash, 10 * crops + 1, 5, boxes, views);
    }

    private static List<Integer> list(int... ids) {
        List<Integer> l = new ArrayList<>();
        for (int id : ids) {
            l.add(id);
        }
        return l;
    }

    private static List<Integer> expanded() {
        return list(NN, BOI, IMG, IMG, IMG, EOI, NN);
    }

    @Test
    void aSingleImageExpandsToSoftTokensBetweenBoiAndEoi() {
        PreparedImage img = image("h0", 0);
        PromptTokens p = new ImagePrompt(CFG, ENC).build("Describe: <start_of_image> Thanks.", List.of(img), true);
        List<Integer> expected = list(2, 10, 11);
        expected.addAll(expanded());
        expected.add(12);
        assertThat(p.ids()).containsExactly(expected.stream().mapToInt(Integer::intValue).toArray());
        assertThat(p.spans()).containsExactly(new ImageSpan(5, 3, "h0"));
        assertThat(p.inputs()).containsExactly(img.views().get(0));
        assertThat(p.spanAt(5)).isEqualTo(0);
        assertThat(p.spanAt(7)).isEqualTo(0);
        assertThat(p.spanAt(8)).isEqualTo(-1); // <end_of_image> is a text position
        assertThat(p.spanAt(4)).isEqualTo(-1); // so is <start_of_image>
    }

    @Test
    void panAndScanUsesTheReferenceLayout() {
        PreparedImage img = image("h", 2);
        PromptTokens p = new ImagePrompt(CFG, ENC).build("<start_of_image>", List.of(img), false);
        List<Integer> expected = list(20, 21);
        expected.addAll(expanded());
        expected.addAll(list(22, 23));
        expected.addAll(expanded());
        expected.add(24);
        expected.addAll(expanded());
        assertThat(p.ids()).containsExactly(expected.stream().mapToInt(Integer::intValue).toArray());
        assertThat(p.spans()).extracting(ImageSpan::start).containsExactly(4, 13, 21);
        assertThat(p.inputs()).containsExactly(img.views().get(0), img.views().get(1), img.views().get(2));
        assertThat(p.inputs()).extracting(PreprocessedImage::view).containsExactly(0, 1, 2);
        assertThat(p.spans()).extracting(ImageSpan::contentKey)
                .containsExactly("h", "h#crop:0,0,10x5", "h#crop:10,0,10x5");
    }

    @Test
    void severalImagesAreNumberedInOrder() {
        PreparedImage a = image("a", 1);
        PreparedImage b = image("b", 0);
        PromptTokens p = new ImagePrompt(CFG, ENC).build("<start_of_image> and <start_of_image>", List.of(a, b), true);
        // encoder inputs in span order: image a, its crop, image b
        assertThat(p.inputs()).containsExactly(a.views().get(0), a.views().get(1), b.views().get(0));
        assertThat(p.inputs()).extracting(PreprocessedImage::contentHash).containsExactly("a", "a", "b");
        assertThat(p.spans()).extracting(ImageSpan::contentKey).containsExactly("a", "a#crop:0,0,10x5", "b");
        for (ImageSpan s : p.spans()) {
            for (int i = s.start(); i < s.end(); i++) {
                assertThat(p.ids()[i]).isEqualTo(IMG);
            }
            assertThat(p.ids()[s.start() - 1]).isEqualTo(BOI);
            assertThat(p.ids()[s.end()]).isEqualTo(EOI);
        }
        long soft = java.util.Arrays.stream(p.ids()).filter(id -> id == IMG).count();
        assertThat(soft).isEqualTo(9);
    }

    @Test
    void markerCountMustMatchImages() {
        ImagePrompt ip = new ImagePrompt(CFG, ENC);
        assertThatThrownBy(() -> ip.build("Describe: ", List.of(image("h", 0)), true))
                .hasMessageContaining("0 <start_of_image> markers but 1 images");
        assertThatThrownBy(() -> ip.build("<start_of_image><start_of_image>", List.of(image("h", 0)), true))
                .hasMessageContaining("2 <start_of_image> markers but 1 images");
    }
}
