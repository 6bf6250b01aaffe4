package dev.gemmaflink.runtime.vision;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The resize must be PIL's {@code Image.resize(size, Image.BILINEAR)}, which transformers' Gemma 3 processor uses.
 *
 * <p>Two independent checks: (1) bit-exact equality with outputs recorded from Pillow 9.4.0 (Debian
 * python3-pil) on the {@link TestImages#rgbAt} pattern; (2) a straightforward double-precision implementation of
 * the antialiased triangle filter (no fixed point, no intermediate 8-bit rounding), within one 8-bit level per
 * sample (PIL rounds the horizontal pass to 8 bits), i.e. 2/255 after normalisation.
 */
class ImagePreprocessorTest {

    static RgbImage pattern(int w, int h) {
        byte[] px = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = TestImages.rgbAt(x, y, w, h);
                px[(y * w + x) * 3] = (byte) (rgb >> 16);
                px[(y * w + x) * 3 + 1] = (byte) (rgb >> 8);
                px[(y * w + x) * 3 + 2] = (byte) rgb;
            }
        }
        return new RgbImage(w, h, px);
    }

    @Test
    void downscaleMatchesPillowBitExactly() {
        // Image.resize((8, 8), Image.BILINEAR) of the 23x17 pattern, Pillow 9.4.0
        String pil = "0e0c5d2c0c944d0c7b6e0c7b900c83b10c64d20c9cf10c7d0e2a842c2a6b4d2a906e2a87902a70b12a91d22a7df12a820e4b6c2c4b934d4b7d6e4b85904b80b14b70d24b90f14b640e6e832c6e6c4d6e946e6e68906e7ab16e96d26e79f16e880e90772c90984d907b6e908990907eb19075d29082f190630eb3802cb3734db3836eb36790b384b1b394d2b36bf1b38e0ed4842cd4954dd4716ed48b90d47db1d480d2d47ff1d4680ef37b2cf3764df3876ef36490f38fb1f396d2f36ff1f39b";
        assertThat(HexFormat.of().formatHex(PilBilinear.resize(pattern(23, 17), 8, 8).toRgbBytes())).isEqualTo(pil);
    }

    @Test
    void upscaleMatchesPillowBitExactly() {
        String pil = "0000000b00062800164500266200367f00469c0056b90066d60076f30086ff008c0012090b120f28121f45122f62123f7f124f9c125fb9126fd6127ff3128fff12950049250b492b28493b45494b62495b7f496b9c497bb9498bd6499bf349abff49b1007f410b7f47287f57457f67627f777f7f879c7f97b97fa7d67fb7f37fc7ff7fcd00b65d0bb66328b67345b68362b6937fb6a39cb6b3b9b6c3d6b6abf3b689ffb67b00ed790bed7f28ed8f45ed9f62edaf7fedbf9cedcfb9eddfd6ed9ff3ed4bffed2900ff820bff8828ff9845ffa862ffb87fffc89cffd8b9ffe8d6ff9bf3ff36ffff0e";
        assertThat(HexFormat.of().formatHex(PilBilinear.resize(pattern(5, 3), 11, 7).toRgbBytes())).isEqualTo(pil);
    }

    @ParameterizedTest
    @CsvSource({
        "300, 200, 56, 79f03869592444a67863c0370136ef0ab349637a14dce74b404f5fec7d3da97f",
        "640, 480, 896, a4c448c5ccab41f08df21adec61433f29be7997596c55a2001d70b272df6def6",
        "1000, 250, 896, d83e80a771eba690abfd49daafaaf19059881f39f495cd0dbf23124a3900e312",
    })
    void largerResizesMatchPillowHashes(int w, int h, int out, String sha256) {
        byte[] px = PilBilinear.resize(pattern(w, h), out, out).toRgbBytes();
        assertThat(ImagePreprocessor.sha256(px)).isEqualTo(sha256);
    }

    @ParameterizedTest
    @CsvSource({"23, 17, 8, 8", "5, 3, 11, 7", "300, 200, 56, 56", "57, 91, 56, 56", "56, 56, 56, 56", "1000, 250, 112, 112"})
    void resizeAgreesWithStraightforwardDoubleFilter(int w, int h, int ow, int oh) {
        RgbImage src = pattern(w, h);
        RgbImage got = PilBilinear.resize(src, ow, oh);
        double[] ref = referenceResize(src, ow, oh);
        int maxDiff = 0;
        for (int i = 0; i < ref.length; i++) {
            int r = (int) Math.max(0, Math.min(255, Math.floor(ref[i] + 0.5)));
            maxDiff = Math.max(maxDiff, Math.abs(r - (got.toRgbBytes()[i] & 0xFF)));
        }
        assertThat(maxDiff).as("max difference in 8-bit levels").isLessThanOrEqualTo(1);
    }

    /** Separable triangle filter with support max(1, scale), evaluated in double, rounded only at the end. */
    private static double[] referenceResize(RgbImage src, int ow, int oh) {
        double[][] wx = weights(src.width(), ow);
        double[][] wy = weights(src.height(), oh);
        double[] out = new double[ow * oh * 3];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                for (int c = 0; c < 3; c++) {
                    double acc = 0;
                    for (int sy = 0; sy < src.height(); sy++) {
                        if (wy[y][sy] == 0) {
                            continue;
                        }
                        for (int sx = 0; sx < src.width(); sx++) {
                            acc += wy[y][sy] * wx[x][sx] * src.sample(sx, sy, c);
                        }
                    }
                    out[(y * ow + x) * 3 + c] = acc;
                }
            }
        }
        return out;
    }

    private static double[][] weights(int in, int out) {
        double scale = (double) in / out;
        double support = Math.max(1.0, scale);
        double[][] w = new double[out][in];
        for (int o = 0; o < out; o++) {
            double centre = (o + 0.5) * scale;
            double sum = 0;
            for (int i = 0; i < in; i++) {
                double d = Math.abs(i + 0.5 - centre) / support;
                w[o][i] = Math.max(0, 1 - d);
                sum += w[o][i];
            }
            for (int i = 0; i < in; i++) {
                w[o][i] /= sum;
            }
        }
        return w;
    }

    @Test
    void pixelValuesAreRescaledNormalisedAndChannelsFirst() {
        RgbImage img = pattern(56, 56); // already the target size: no resampling
        float[] px = new ImagePreprocessor(56).pixelValues(img);
        assertThat(px).hasSize(3 * 56 * 56);
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 56; y += 5) {
                for (int x = 0; x < 56; x += 3) {
                    double expected = (img.sample(x, y, c) / 255.0 - 0.5) / 0.5;
                    assertThat((double) px[c * 56 * 56 + y * 56 + x]).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-6));
                }
            }
        }
        assertThat(px[0]).isEqualTo(-1.0f); // red at x = 0 is 0
        assertThat(px[55]).isEqualTo(1.0f); // red at x = 55 is 255
    }

    @Test
    void prepareAddsPanAndScanCropsWithTheSameHash() {
        byte[] png = TestImages.encode(TestImages.pattern(900, 300, BufferedImage.TYPE_INT_RGB), "png");
        ImagePreprocessor pre = new ImagePreprocessor(56);
        PreparedImage p = pre.prepare(png, new ImageDecoder(), PanAndScanOptions.DEFAULTS_ENABLED);
        assertThat(p.contentHash()).isEqualTo(ImagePreprocessor.sha256(png)).hasSize(64);
        // 900/300 = 3 -> floor(3.5) = 3 crops, floor(900/256) = 3 keeps 3: windows of 300x300
        assertThat(p.crops()).containsExactly(new CropBox(0, 0, 300, 300), new CropBox(300, 0, 300, 300),
                new CropBox(600, 0, 300, 300));
        assertThat(p.views()).hasSize(4);
        assertThat(p.views()).extracting(PreprocessedImage::view).containsExactly(0, 1, 2, 3);
        assertThat(p.views()).allSatisfy(v -> assertThat(v.contentHash()).isEqualTo(p.contentHash()));
        RgbImage decoded = new ImageDecoder().decode(png);
        assertThat(p.views().get(3).pixels()).isEqualTo(pre.pixelValues(decoded.crop(600, 0, 300, 300)));
        PreparedImage plain = pre.prepare(png, new ImageDecoder(), PanAndScanOptions.DISABLED);
        assertThat(plain.views()).hasSize(1);
        assertThat(plain.views().get(0).pixels()).isEqualTo(p.views().get(0).pixels());
    }
}
