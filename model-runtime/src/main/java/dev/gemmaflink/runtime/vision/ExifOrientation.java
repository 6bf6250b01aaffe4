package dev.gemmaflink.runtime.vision;

import java.nio.charset.StandardCharsets;

/**
 * Reads the EXIF orientation tag (0x0112) of a JPEG and applies it.
 *
 * <p>A small, bounded parser: it walks the JPEG marker segments up to the first scan (SOS) and at most
 * {@link #MAX_SEGMENTS} of them, looks for an APP1 segment starting with {@code Exif\0\0}, reads the TIFF header
 * (either byte order) and scans the entries of IFD0 only. Every offset is checked against the segment; anything
 * malformed yields orientation 1 (as displayed): a broken EXIF block must not make a decodable image fail.
 */
public final class ExifOrientation {
    /** Segments walked at most before giving up (real files carry a handful before the scan). */
    static final int MAX_SEGMENTS = 64;
    private static final int TAG_ORIENTATION = 0x0112;
    private static final int TYPE_SHORT = 3;

    private ExifOrientation() {
    }

    /**
     * @param jpeg the encoded bytes (any format; non-JPEG gives 1)
     * @return the orientation 1..8, or 1 when absent, out of range or unreadable
     */
    public static int read(byte[] jpeg) {
        if (jpeg.length < 4 || (jpeg[0] & 0xFF) != 0xFF || (jpeg[1] & 0xFF) != 0xD8) {
            return 1;
        }
        int p = 2;
        for (int seg = 0; seg < MAX_SEGMENTS && p + 4 <= jpeg.length; seg++) {
            if ((jpeg[p] & 0xFF) != 0xFF) {
                return 1;
            }
            int marker = jpeg[p + 1] & 0xFF;
            if (marker == 0xFF) { // fill byte
                p++;
                continue;
            }
            if (marker == 0xDA || marker == 0xD9) { // start of scan / end of image: no metadata after this
                return 1;
            }
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { // markers without a length
                p += 2;
                continue;
            }
            int len = u16(jpeg, p + 2, false); // includes the two length bytes
            if (len < 2 || p + 2 + len > jpeg.length) {
                return 1;
            }
            if (marker == 0xE1) {
                int o = fromApp1(jpeg, p + 4, len - 2);
                if (o != 0) {
                    return o;
                }
            }
            p += 2 + len;
        }
        return 1;
    }

    /** @return orientation from one APP1 payload, 0 when this APP1 is not EXIF or holds no valid tag */
    private static int fromApp1(byte[] b, int start, int length) {
        if (length < 14 || !"Exif\0\0".equals(new String(b, start, 6, StandardCharsets.ISO_8859_1))) {
            return 0;
        }
        int tiff = start + 6;
        int end = start + length;
        boolean little;
        if (b[tiff] == 'I' && b[tiff + 1] == 'I') {
            little = true;
        } else if (b[tiff] == 'M' && b[tiff + 1] == 'M') {
            little = false;
        } else {
            return 0;
        }
        if (u16(b, tiff + 2, little) != 42) {
            return 0;
        }
        long ifd = u32(b, tiff + 4, little);
        if (ifd < 8 || tiff + ifd + 2 > end) {
            return 0;
        }
        int q = (int) (tiff + ifd);
        int count = u16(b, q, little);
        q += 2;
        for (int i = 0; i < count && q + 12 <= end; i++, q += 12) {
            if (u16(b, q, little) == TAG_ORIENTATION && u16(b, q + 2, little) == TYPE_SHORT) {
                int v = u16(b, q + 8, little); // a single SHORT sits left-justified in the value field
                return v >= 1 && v <= 8 ? v : 0;
            }
        }
        return 0;
    }

    private static int u16(byte[] b, int p, boolean little) {
        int a = b[p] & 0xFF;
        int c = b[p + 1] & 0xFF;
        return little ? a | c << 8 : a << 8 | c;
    }

    private static long u32(byte[] b, int p, boolean little) {
        long lo = u16(b, little ? p : p + 2, little);
        long hi = u16(b, little ? p + 2 : p, little);
        return hi << 16 | lo;
    }

    /**
     * Transforms stored pixels into display orientation (the meaning of the EXIF values: 2 mirror, 3 rotate 180,
     * 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise).
     *
     * @param img         stored pixels
     * @param orientation 1..8; 1 returns {@code img} itself
     */
    public static RgbImage apply(RgbImage img, int orientation) {
        if (orientation < 1 || orientation > 8) {
            throw new IllegalArgumentException("EXIF orientation must be 1..8, got " + orientation);
        }
        if (orientation == 1) {
            return img;
        }
        int w = img.width();
        int h = img.height();
        boolean swap = orientation >= 5;
        int ow = swap ? h : w;
        int oh = swap ? w : h;
        byte[] src = img.raw();
        byte[] out = new byte[src.length];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sx;
                int sy;
                switch (orientation) {
                    case 2: sx = w - 1 - x; sy = y; break;
                    case 3: sx = w - 1 - x; sy = h - 1 - y; break;
                    case 4: sx = x; sy = h - 1 - y; break;
                    case 5: sx = y; sy = x; break;
                    case 6: sx = y; sy = h - 1 - x; break;
                    case 7: sx = w - 1 - y; sy = h - 1 - x; break;
                    default: sx = w - 1 - y; sy = x; break; // 8
                }
                System.arraycopy(src, (sy * w + sx) * 3, out, (y * ow + x) * 3, 3);
            }
        }
        return RgbImage.wrap(ow, oh, out);
    }
}
