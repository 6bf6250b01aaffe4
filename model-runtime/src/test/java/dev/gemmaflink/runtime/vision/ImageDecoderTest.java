package dev.gemmaflink.runtime.vision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.vision.ImageDecodeException.Reason;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ImageDecoderTest {
    private final ImageDecoder decoder = new ImageDecoder();

    @ParameterizedTest
    @ValueSource(strings = {"png", "bmp", "gif"})
    void losslessFormatsDecodeToTheExactPixels(String format) {
        int type = format.equals("gif") ? BufferedImage.TYPE_BYTE_INDEXED : BufferedImage.TYPE_INT_RGB;
        BufferedImage src = TestImages.pattern(37, 23, type);
        RgbImage img = decoder.decode(TestImages.encode(src, format));
        assertThat(img.width()).isEqualTo(37);
        assertThat(img.height()).isEqualTo(23);
        for (int y = 0; y < 23; y++) {
            for (int x = 0; x < 37; x++) {
                int argb = src.getRGB(x, y); // for GIF: the palette colour the writer chose
                assertThat(img.sample(x, y, 0)).isEqualTo((argb >> 16) & 0xFF);
                assertThat(img.sample(x, y, 1)).isEqualTo((argb >> 8) & 0xFF);
                assertThat(img.sample(x, y, 2)).isEqualTo(argb & 0xFF);
            }
        }
    }

    @Test
    void jpegDecodesCloseToTheSource() {
        BufferedImage src = TestImages.pattern(64, 48, BufferedImage.TYPE_INT_RGB);
        RgbImage img = decoder.decode(TestImages.encode(src, "jpeg"));
        assertThat(img.width()).isEqualTo(64);
        assertThat(img.height()).isEqualTo(48);
        // lossy: compare the mean absolute error of the smooth red/green ramps
        double err = 0;
        for (int y = 0; y < 48; y++) {
            for (int x = 0; x < 64; x++) {
                int argb = src.getRGB(x, y);
                err += Math.abs(img.sample(x, y, 0) - ((argb >> 16) & 0xFF)) + Math.abs(img.sample(x, y, 1) - ((argb >> 8) & 0xFF));
            }
        }
        assertThat(err / (64 * 48 * 2)).isLessThan(8.0);
    }

    @Test
    void alphaIsFlattenedOntoWhite() {
        BufferedImage src = new BufferedImage(3, 1, BufferedImage.TYPE_INT_ARGB);
        src.setRGB(0, 0, 0x00000000); // transparent black -> white
        src.setRGB(1, 0, 0xFF102030); // opaque stays
        src.setRGB(2, 0, 0x80FF0000); // half red over white
        RgbImage img = decoder.decode(TestImages.encode(src, "png"));
        assertThat(new int[] {img.sample(0, 0, 0), img.sample(0, 0, 1), img.sample(0, 0, 2)}).containsExactly(255, 255, 255);
        assertThat(new int[] {img.sample(1, 0, 0), img.sample(1, 0, 1), img.sample(1, 0, 2)}).containsExactly(0x10, 0x20, 0x30);
        // 0x80 = 128: 255 * 128/255 + 255 * 127/255 = 255 for red; 0 * 128/255 + 255 * 127/255 = 127 for green/blue
        assertThat(new int[] {img.sample(2, 0, 0), img.sample(2, 0, 1), img.sample(2, 0, 2)}).containsExactly(255, 127, 127);
    }

    @Test
    void greyscaleKeepsItsSampleValuesInAllThreeChannels() {
        BufferedImage src = new BufferedImage(4, 2, BufferedImage.TYPE_BYTE_GRAY);
        byte[] data = ((DataBufferByte) src.getRaster().getDataBuffer()).getData();
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 30);
        }
        for (String format : new String[] {"png", "jpeg"}) {
            RgbImage img = decoder.decode(TestImages.encode(src, format));
            for (int i = 0; i < 8; i++) {
                int x = i % 4;
                int y = i / 4;
                int tol = format.equals("png") ? 0 : 6;
                assertThat(img.sample(x, y, 0)).as(format + " pixel " + i).isCloseTo(i * 30, org.assertj.core.data.Offset.offset(tol));
                assertThat(img.sample(x, y, 1)).isEqualTo(img.sample(x, y, 0));
                assertThat(img.sample(x, y, 2)).isEqualTo(img.sample(x, y, 0));
            }
        }
    }

    @Test
    void palettePngDecodes() {
        byte[] r = {0, (byte) 255, 0};
        byte[] g = {0, 0, (byte) 255};
        byte[] b = {(byte) 255, 0, 0};
        BufferedImage src = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(2, 3, r, g, b));
        src.getRaster().setSample(0, 0, 0, 0);
        src.getRaster().setSample(1, 0, 0, 1);
        src.getRaster().setSample(2, 0, 0, 2);
        RgbImage img = decoder.decode(TestImages.encode(src, "png"));
        assertThat(img.toRgbBytes()).containsExactly(0, 0, (byte) 255, (byte) 255, 0, 0, 0, (byte) 255, 0);
    }

    @Test
    void webpDecodes() throws IOException {
        byte[] webp;
        try (InputStream in = getClass().getResourceAsStream("/vision/sample.webp")) {
            assertThat(in).as("test resource vision/sample.webp").isNotNull();
            webp = in.readAllBytes();
        }
        RgbImage img = decoder.decode(webp);
        assertThat(img.width()).isEqualTo(16);
        assertThat(img.height()).isEqualTo(8);
        // left half red, right half blue (lossless)
        assertThat(new int[] {img.sample(2, 4, 0), img.sample(2, 4, 1), img.sample(2, 4, 2)}).containsExactly(255, 0, 0);
        assertThat(new int[] {img.sample(13, 4, 0), img.sample(13, 4, 1), img.sample(13, 4, 2)}).containsExactly(0, 0, 255);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8})
    void exifOrientationIsApplied(int orientation) {
        // Use a lossless reference: decode the plain JPEG, transform it by hand, compare with the tagged decode.
        BufferedImage src = TestImages.pattern(40, 24, BufferedImage.TYPE_INT_RGB);
        byte[] jpeg = TestImages.encode(src, "jpeg");
        RgbImage stored = decoder.decode(jpeg);
        for (boolean little : new boolean[] {true, false}) {
            byte[] tagged = TestImages.withExifOrientation(jpeg, orientation, little);
            assertThat(ExifOrientation.read(tagged)).isEqualTo(orientation);
            RgbImage shown = decoder.decode(tagged);
            boolean swap = orientation >= 5;
            assertThat(shown.width()).isEqualTo(swap ? 24 : 40);
            assertThat(shown.height()).isEqualTo(swap ? 40 : 24);
            // where the stored top-left pixel must appear in display coordinates
            int[] tl = displayOfStoredTopLeft(orientation, 40, 24);
            for (int c = 0; c < 3; c++) {
                assertThat(shown.sample(tl[0], tl[1], c)).isEqualTo(stored.sample(0, 0, c));
            }
        }
    }

    /** Display position of stored (0, 0), from the EXIF specification's description of each value. */
    private static int[] displayOfStoredTopLeft(int o, int w, int h) {
        switch (o) {
            case 1: return new int[] {0, 0};
            case 2: return new int[] {w - 1, 0};      // mirrored: stored left edge is on the right
            case 3: return new int[] {w - 1, h - 1};  // rotated 180
            case 4: return new int[] {0, h - 1};      // flipped
            case 5: return new int[] {0, 0};          // transposed
            case 6: return new int[] {h - 1, 0};      // rotated 90 clockwise: stored top row becomes the right column
            case 7: return new int[] {h - 1, w - 1};  // transverse
            default: return new int[] {0, w - 1};     // 8: rotated 90 counter-clockwise: stored top row on the left
        }
    }

    @Test
    void malformedExifIsIgnored() {
        byte[] jpeg = TestImages.encode(TestImages.pattern(8, 8, BufferedImage.TYPE_INT_RGB), "jpeg");
        byte[] tagged = TestImages.withExifOrientation(jpeg, 6, true);
        tagged[12 + 4] = 99; // IFD offset low byte points far outside the segment
        assertThat(ExifOrientation.read(tagged)).isEqualTo(1);
        assertThat(decoder.decode(tagged).width()).isEqualTo(8);
        assertThat(ExifOrientation.read(TestImages.withExifOrientation(jpeg, 9, false))).isEqualTo(1);
        assertThat(ExifOrientation.read(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE1, 0x7F})).isEqualTo(1);
    }

    @Test
    void emptyAndOversizedAndUnknownInputsAreRefused() {
        assertThatThrownBy(() -> decoder.decode(new byte[0]))
                .isInstanceOfSatisfying(ImageDecodeException.class, e -> assertThat(e.reason()).isEqualTo(Reason.EMPTY));
        ImageDecoder small = new ImageDecoder(new ImageDecodeOptions(100, 1_000_000));
        byte[] png = TestImages.encode(TestImages.pattern(32, 32, BufferedImage.TYPE_INT_RGB), "png");
        assertThatThrownBy(() -> small.decode(png))
                .isInstanceOfSatisfying(ImageDecodeException.class, e -> assertThat(e.reason()).isEqualTo(Reason.TOO_MANY_BYTES))
                .hasMessageContaining("limit of 100");
        assertThatThrownBy(() -> decoder.decode("hello, not an image".getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .isInstanceOfSatisfying(ImageDecodeException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.UNSUPPORTED_FORMAT))
                .hasMessageContaining("not a JPEG, PNG, GIF, BMP or WebP");
    }

    @Test
    void truncatedImagesAreCorrupt() {
        byte[] png = TestImages.encode(TestImages.pattern(64, 64, BufferedImage.TYPE_INT_RGB), "png");
        byte[] jpeg = TestImages.encode(TestImages.pattern(64, 64, BufferedImage.TYPE_INT_RGB), "jpeg");
        for (byte[] full : new byte[][] {png}) {
            byte[] cut = Arrays.copyOf(full, full.length / 2);
            assertThatThrownBy(() -> decoder.decode(cut))
                    .isInstanceOfSatisfying(ImageDecodeException.class, e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT));
        }
        byte[] headerOnly = Arrays.copyOf(jpeg, 6);
        assertThatThrownBy(() -> decoder.decode(headerOnly))
                .isInstanceOfSatisfying(ImageDecodeException.class, e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT));
    }

    @Test
    void jpegCutShortIsCorruptWhereImageIoWouldFillItWithGrey() {
        byte[] jpeg = TestImages.encode(TestImages.pattern(64, 64, BufferedImage.TYPE_INT_RGB), "jpeg");
        assertThat(decoder.decode(jpeg).width()).isEqualTo(64);
        byte[] cut = Arrays.copyOf(jpeg, jpeg.length * 6 / 10);
        assertCorrupt(cut, "the 64x64 jpeg image is truncated: the data ends after " + cut.length
                + " bytes, before the EOI marker (FF D9)");
        assertCorrupt(Arrays.copyOf(jpeg, jpeg.length - 2), "before the EOI marker (FF D9)");
        assertCorrupt(Arrays.copyOf(jpeg, jpeg.length - 1), "before the EOI marker (FF D9)");
    }

    @Test
    void progressiveJpegDecodesWholeAndIsCorruptCutShort() throws IOException {
        BufferedImage src = TestImages.pattern(48, 40, BufferedImage.TYPE_INT_RGB);
        byte[] progressive = progressiveJpeg(src);
        assertThat(decoder.decode(progressive).height()).isEqualTo(40);
        assertCorrupt(Arrays.copyOf(progressive, progressive.length * 6 / 10), "before the EOI marker (FF D9)");
    }

    @Test
    void anEmbeddedThumbnailsEoiDoesNotCompleteACutJpeg() {
        byte[] thumbnail = TestImages.encode(TestImages.pattern(8, 8, BufferedImage.TYPE_INT_RGB), "jpeg");
        byte[] jpeg = withApp1(TestImages.encode(TestImages.pattern(64, 64, BufferedImage.TYPE_INT_RGB), "jpeg"),
                thumbnail);
        assertThat(decoder.decode(jpeg).width()).isEqualTo(64);
        assertCorrupt(Arrays.copyOf(jpeg, jpeg.length - 2), "before the EOI marker (FF D9)");
    }

    @Test
    void bytesAfterTheEndMarkerAreAccepted() throws IOException {
        byte[] jpeg = TestImages.encode(TestImages.pattern(64, 64, BufferedImage.TYPE_INT_RGB), "jpeg");
        byte[] gif = TestImages.encode(TestImages.pattern(37, 23, BufferedImage.TYPE_BYTE_INDEXED), "gif");
        byte[] webp = sampleWebp();
        byte[] zeros = new byte[16];
        byte[] garbage = {'j', 'u', 'n', 'k', (byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 0x3B, 0x21};
        for (byte[] whole : new byte[][] {jpeg, gif, webp}) {
            RgbImage expected = decoder.decode(whole);
            for (byte[] tail : new byte[][] {zeros, garbage}) {
                byte[] padded = Arrays.copyOf(whole, whole.length + tail.length);
                System.arraycopy(tail, 0, padded, whole.length, tail.length);
                assertThat(decoder.decode(padded).toRgbBytes()).isEqualTo(expected.toRgbBytes());
            }
        }
    }

    @Test
    void gifWithoutItsTrailerIsCorrupt() {
        byte[] gif = TestImages.encode(TestImages.pattern(37, 23, BufferedImage.TYPE_BYTE_INDEXED), "gif");
        assertThat(gif[gif.length - 1]).isEqualTo((byte) 0x3B);
        assertCorrupt(Arrays.copyOf(gif, gif.length - 1), "the 37x23 gif image is truncated: the data ends after "
                + (gif.length - 1) + " bytes, before the GIF trailer (3B)");
        assertCorrupt(Arrays.copyOf(gif, gif.length * 6 / 10), "before the GIF trailer (3B)");
    }

    @Test
    void webpShorterThanItsRiffSizeIsCorrupt() throws IOException {
        byte[] webp = sampleWebp();
        assertCorrupt(Arrays.copyOf(webp, webp.length - 1), "the 16x8 webp image is truncated: the data ends after "
                + (webp.length - 1) + " of the " + webp.length + " bytes its RIFF header declares");
    }

    private void assertCorrupt(byte[] bytes, String messagePart) {
        assertThatThrownBy(() -> decoder.decode(bytes))
                .isInstanceOfSatisfying(ImageDecodeException.class, e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT))
                .hasMessageContaining(messagePart);
    }

    private byte[] sampleWebp() throws IOException {
        try (InputStream in = getClass().getResourceAsStream("/vision/sample.webp")) {
            assertThat(in).as("test resource vision/sample.webp").isNotNull();
            return in.readAllBytes();
        }
    }

    private static byte[] progressiveJpeg(BufferedImage src) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(ios);
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
            writer.write(null, new IIOImage(src, null, null), param);
        } finally {
            writer.dispose();
        }
        byte[] bytes = out.toByteArray();
        long scans = java.util.stream.IntStream.range(0, bytes.length - 1)
                .filter(i -> (bytes[i] & 0xFF) == 0xFF && (bytes[i + 1] & 0xFF) == 0xDA).count();
        assertThat(scans).as("start-of-scan markers of a progressive JPEG").isGreaterThan(1);
        return bytes;
    }

    /** Inserts an APP1 segment holding {@code payload} right after the SOI of a JPEG. */
    private static byte[] withApp1(byte[] jpeg, byte[] payload) {
        int length = payload.length + 2;
        byte[] out = new byte[jpeg.length + 2 + length];
        out[0] = (byte) 0xFF;
        out[1] = (byte) 0xD8;
        out[2] = (byte) 0xFF;
        out[3] = (byte) 0xE1;
        out[4] = (byte) (length >> 8);
        out[5] = (byte) length;
        System.arraycopy(payload, 0, out, 6, payload.length);
        System.arraycopy(jpeg, 2, out, 6 + payload.length, jpeg.length - 2);
        return out;
    }

    @Test
    void decompressionBombIsRefusedFromTheHeader() {
        byte[] bomb = TestImages.pngHeaderOnly(60_000, 60_000);
        assertThat(bomb.length).isLessThan(100);
        long before = usedHeap();
        assertThatThrownBy(() -> decoder.decode(bomb))
                .isInstanceOfSatisfying(ImageDecodeException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.TOO_MANY_PIXELS))
                .hasMessageContaining("60000x60000")
                .hasMessageContaining("limit of " + ImageDecodeOptions.DEFAULT_MAX_PIXELS);
        // decoding would need 10.8 GB; refusing must not have allocated anything close to one row band
        assertThat(usedHeap() - before).isLessThan(256L << 20);
    }

    @Test
    void pixelLimitIsConfigurable() {
        byte[] png = TestImages.encode(TestImages.pattern(20, 10, BufferedImage.TYPE_INT_RGB), "png");
        assertThat(new ImageDecoder(new ImageDecodeOptions(1 << 20, 200)).decode(png).width()).isEqualTo(20);
        assertThatThrownBy(() -> new ImageDecoder(new ImageDecodeOptions(1 << 20, 199)).decode(png))
                .isInstanceOfSatisfying(ImageDecodeException.class, e -> assertThat(e.reason()).isEqualTo(Reason.TOO_MANY_PIXELS));
        assertThatThrownBy(() -> new ImageDecodeOptions(0, 1)).hasMessageContaining("maxBytes");
    }

    private static long usedHeap() {
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }
}
