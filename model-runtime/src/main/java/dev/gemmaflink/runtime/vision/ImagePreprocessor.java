package dev.gemmaflink.runtime.vision;

import dev.gemmaflink.runtime.config.VisionConfig;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The Gemma 3 image processor: RGB -> (Pan &amp; Scan crops) -> resize to {@code size x size} with PIL bilinear
 * ({@link PilBilinear}, 8-bit result as PIL returns it) -> {@code x / 255} -> {@code (x - 0.5) / 0.5} -> channels first.
 *
 * <pre>{@code
 * ImagePreprocessor pre = ImagePreprocessor.forVision(cfg.vision().get());
 * PreparedImage p = pre.prepare(bytes, new ImageDecoder(), PanAndScanOptions.DISABLED);
 * }</pre>
 */
public final class ImagePreprocessor {
    private static final float MEAN = 0.5f;
    private static final float STD = 0.5f;

    private final int size;

    /** @param size target side length (896 for the released models) */
    public ImagePreprocessor(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("target size must be positive, got " + size);
        }
        this.size = size;
    }

    /** @return a preprocessor for the tower's {@code image_size} */
    public static ImagePreprocessor forVision(VisionConfig v) {
        return new ImagePreprocessor(v.imageSize());
    }

    /** @return the target side length */
    public int size() {
        return size;
    }

    /**
     * @return normalised pixels {@code (3, size, size)}: resized with PIL bilinear, then
     *     {@code (v / 255 - 0.5) / 0.5} in float32 as transformers computes it
     */
    public float[] pixelValues(RgbImage img) {
        RgbImage r = PilBilinear.resize(img, size, size);
        byte[] px = r.raw();
        int plane = size * size;
        float[] out = new float[3 * plane];
        for (int i = 0; i < plane; i++) {
            for (int c = 0; c < 3; c++) {
                // transformers: rescale in float64 then cast to float32, normalise in float32
                float v = (float) ((px[i * 3 + c] & 0xFF) * (1.0 / 255.0));
                out[c * plane + i] = (v - MEAN) / STD;
            }
        }
        return out;
    }

    /**
     * Decodes, crops and preprocesses one image: the whole image first, then its Pan &amp; Scan crops.
     *
     * @throws ImageDecodeException when the bytes cannot be decoded
     */
    public PreparedImage prepare(byte[] bytes, ImageDecoder decoder, PanAndScanOptions panAndScan) {
        Objects.requireNonNull(decoder, "decoder");
        RgbImage img = decoder.decode(bytes);
        String hash = sha256(bytes);
        List<CropBox> boxes = PanAndScan.crops(img.width(), img.height(), panAndScan);
        List<PreprocessedImage> views = new ArrayList<>(1 + boxes.size());
        views.add(new PreprocessedImage(size, pixelValues(img), hash, 0));
        for (int i = 0; i < boxes.size(); i++) {
            CropBox b = boxes.get(i);
            views.add(new PreprocessedImage(size, pixelValues(img.crop(b.x(), b.y(), b.width(), b.height())), hash, i + 1));
        }
        return new PreparedImage(hash, img.width(), img.height(), boxes, views);
    }

    /** @return lowercase hex SHA-256 of {@code bytes} */
    public static String sha256(byte[] bytes) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(bytes);
            StringBuilder sb = new StringBuilder(64);
            for (byte b : d) {
                sb.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
            }
            return sb.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    @Override
    public String toString() {
        return "ImagePreprocessor[" + size + "x" + size + "]";
    }

}
