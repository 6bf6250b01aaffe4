package dev.gemmaflink.runtime.vision;

import dev.gemmaflink.runtime.vision.ImageDecodeException.Reason;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes JPEG, PNG, GIF (first frame), BMP and WebP bytes into an 8-bit {@link RgbImage} in display
 * orientation, as the Gemma 3 processor's {@code convert_to_rgb} sees it.
 *
 * <p>Order of checks, cheapest first: empty input, byte limit, format sniffing by the ImageIO readers (JDK plus
 * TwelveMonkeys JPEG/WebP/BMP plugins), then the pixel limit from the reader's header ({@code getWidth(0)},
 * {@code getHeight(0)}), then whether the stream reaches its end marker ({@link StreamEnd}: a JPEG without its EOI,
 * a GIF without its trailer, a WebP shorter than its RIFF size are {@link Reason#CORRUPT}; bytes after the end
 * marker are accepted), and only then the full decode, so a decompression bomb costs a header read.
 *
 * <p>RGB conversion: greyscale (with or without alpha, 8 or 16 bit) is replicated into three channels from the raw
 * samples (not through Java's linear-grey colour space, which would brighten it); everything else goes through
 * {@link BufferedImage#getRGB} (palettes, RGB, CMYK/YCCK JPEG which TwelveMonkeys converts). Alpha is flattened onto
 * white, as transformers' {@code convert_to_rgb} does for RGBA. The JPEG EXIF orientation is applied
 * ({@link ExifOrientation}); transformers does not do this, but a rotated phone photo is otherwise seen sideways.
 *
 * <p>Thread-safe: stateless apart from the immutable options.
 */
public final class ImageDecoder {
    private static final Set<String> FORMATS = Set.of("jpeg", "jpg", "png", "gif", "bmp", "webp");

    private final ImageDecodeOptions options;

    /** @param options limits checked before decoding */
    public ImageDecoder(ImageDecodeOptions options) {
        this.options = Objects.requireNonNull(options, "options");
        ImageIO.setUseCache(false); // decode in memory; never spill to temporary files
    }

    /** A decoder with {@link ImageDecodeOptions#defaults()}. */
    public ImageDecoder() {
        this(ImageDecodeOptions.defaults());
    }

    /** @return the limits */
    public ImageDecodeOptions options() {
        return options;
    }

    /**
     * @param bytes the encoded image
     * @return RGB pixels in display orientation
     * @throws ImageDecodeException with the reason code of the first failed check
     */
    public RgbImage decode(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new ImageDecodeException(Reason.EMPTY, "the image has no bytes");
        }
        if (bytes.length > options.maxBytes()) {
            throw new ImageDecodeException(Reason.TOO_MANY_BYTES, "the image has " + bytes.length
                    + " bytes, more than the limit of " + options.maxBytes());
        }
        BufferedImage decoded;
        String format;
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            ImageReader reader = pickReader(in, bytes);
            format = reader.getFormatName().toLowerCase(Locale.ROOT);
            try {
                reader.setInput(in, true);
                long w;
                long h;
                try {
                    w = reader.getWidth(0);
                    h = reader.getHeight(0);
                } catch (IOException | RuntimeException e) {
                    throw new ImageDecodeException(Reason.CORRUPT, "cannot read the " + format + " header: " + describe(e), e);
                }
                if (w <= 0 || h <= 0) {
                    throw new ImageDecodeException(Reason.CORRUPT, "the " + format + " header declares an empty image "
                            + w + "x" + h);
                }
                if (w * h > options.maxPixels()) {
                    throw new ImageDecodeException(Reason.TOO_MANY_PIXELS, "the " + format + " image is " + w + "x" + h
                            + " = " + w * h + " pixels, more than the limit of " + options.maxPixels());
                }
                checkComplete(format, w, h, bytes);
                try {
                    decoded = reader.read(0);
                } catch (IOException | RuntimeException e) {
                    throw new ImageDecodeException(Reason.CORRUPT, "cannot decode the " + w + "x" + h + " " + format
                            + " image: " + describe(e), e);
                }
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new ImageDecodeException(Reason.CORRUPT, "cannot read the image bytes: " + describe(e), e);
        }
        if (decoded == null) {
            throw new ImageDecodeException(Reason.CORRUPT, "the " + format + " reader returned no image");
        }
        RgbImage rgb = toRgb(decoded);
        if (format.equals("jpeg") || format.equals("jpg")) {
            rgb = ExifOrientation.apply(rgb, ExifOrientation.read(bytes));
        }
        return rgb;
    }

    /**
     * Refuses a stream that ends before its format's end marker ({@link StreamEnd}): the JPEG reader would fill
     * the missing part with grey, and the GIF and WebP readers decode what is there. Bytes after the end marker
     * are accepted.
     */
    private static void checkComplete(String format, long w, long h, byte[] bytes) {
        StreamEnd.truncation(format, bytes).ifPresent(why -> {
            throw new ImageDecodeException(Reason.CORRUPT, "the " + w + "x" + h + " " + format
                    + " image is truncated: " + why);
        });
    }

    private static ImageReader pickReader(ImageInputStream in, byte[] bytes) {
        if (in == null) {
            throw new ImageDecodeException(Reason.UNSUPPORTED_FORMAT, "ImageIO cannot open an input stream");
        }
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        while (readers.hasNext()) {
            ImageReader r = readers.next();
            String name;
            try {
                name = r.getFormatName().toLowerCase(Locale.ROOT);
            } catch (IOException e) {
                continue;
            }
            if (FORMATS.contains(name)) {
                return r;
            }
        }
        throw new ImageDecodeException(Reason.UNSUPPORTED_FORMAT, "not a JPEG, PNG, GIF, BMP or WebP image (first bytes "
                + hex(bytes, 8) + ")");
    }

    /** Converts any decoded image to 8-bit RGB, alpha flattened onto white. */
    static RgbImage toRgb(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        byte[] out = new byte[w * h * 3];
        ColorModel cm = img.getColorModel();
        boolean alpha = cm.hasAlpha();
        if (cm instanceof ComponentColorModel && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY) {
            Raster r = img.getRaster();
            int gMax = (1 << cm.getComponentSize(0)) - 1;
            int aMax = alpha ? (1 << cm.getComponentSize(1)) - 1 : 1;
            int[] px = new int[r.getNumBands()];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    r.getPixel(x, y, px);
                    int g = scale(px[0], gMax);
                    int a = alpha ? scale(px[1], aMax) : 255;
                    int v = flatten(g, a);
                    int o = (y * w + x) * 3;
                    out[o] = (byte) v;
                    out[o + 1] = (byte) v;
                    out[o + 2] = (byte) v;
                }
            }
        } else {
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                img.getRGB(0, y, w, 1, row, 0, w); // non-premultiplied sRGB ARGB
                for (int x = 0; x < w; x++) {
                    int argb = row[x];
                    int a = alpha ? argb >>> 24 : 255;
                    int o = (y * w + x) * 3;
                    out[o] = (byte) flatten((argb >> 16) & 0xFF, a);
                    out[o + 1] = (byte) flatten((argb >> 8) & 0xFF, a);
                    out[o + 2] = (byte) flatten(argb & 0xFF, a);
                }
            }
        }
        return RgbImage.wrap(w, h, out);
    }

    /** A sample of {@code max} full scale to 0..255 (16-bit keeps its high byte, as a rounding would differ by 1 at most). */
    private static int scale(int v, int max) {
        if (max == 255) {
            return v;
        }
        if (max == 65535) {
            return v >>> 8;
        }
        return (v * 255 + max / 2) / max;
    }

    /** Source-over onto white: {@code c * a + 255 * (1 - a)}, rounded. */
    private static int flatten(int c, int a) {
        if (a == 255) {
            return c;
        }
        return (c * a + 255 * (255 - a) + 127) / 255;
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : " (" + m + ")");
    }

    private static String hex(byte[] b, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(n, b.length); i++) {
            sb.append(String.format(Locale.ROOT, "%02x", b[i] & 0xFF));
        }
        return sb.toString();
    }
}
