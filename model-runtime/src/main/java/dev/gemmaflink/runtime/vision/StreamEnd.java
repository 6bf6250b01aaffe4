package dev.gemmaflink.runtime.vision;

import java.util.Optional;

/**
 * Finds whether an encoded image stops before its format's end marker, for the formats whose ImageIO reader
 * accepts such a stream: the JPEG reader (TwelveMonkeys over libjpeg) fills the missing scan lines with grey and
 * only warns, the JDK GIF reader decodes a stream that lacks its trailer, and the WebP reader decodes a stream
 * shorter than its RIFF header declares. PNG and BMP need no check here: their readers fail on missing data.
 *
 * <p>Each check walks the stream's structure (segment and block lengths), so bytes after the end marker are
 * accepted, as decoders in general accept them (some writers pad files), while a stream that ends before the
 * marker is refused. The walk reads each byte at most once and allocates nothing.
 */
final class StreamEnd {
    private StreamEnd() {
    }

    /**
     * @param format the ImageIO format name, lower case ({@code jpeg}, {@code gif}, {@code webp}, ...)
     * @param bytes  the whole encoded image
     * @return why the stream is truncated, or empty when it is complete or the format needs no check
     */
    static Optional<String> truncation(String format, byte[] bytes) {
        return switch (format) {
            case "jpeg", "jpg" -> jpeg(bytes);
            case "gif" -> gif(bytes);
            case "webp" -> webp(bytes);
            default -> Optional.empty();
        };
    }

    /**
     * Walks the JPEG markers from SOI: marker segments are skipped by their length, the entropy-coded data after
     * each SOS up to the next marker that is neither a stuffed {@code FF 00} nor a restart marker. Bytes that are
     * no marker where one is due are skipped to the next {@code FF}, as libjpeg does.
     */
    static Optional<String> jpeg(byte[] b) {
        int pos = 2; // after SOI, which the reader has recognised
        while (true) {
            while (pos < b.length && u8(b, pos) != 0xFF) {
                pos++;
            }
            while (pos < b.length && u8(b, pos) == 0xFF) {
                pos++; // a marker's 0xFF and any fill bytes before its code
            }
            if (pos >= b.length) {
                return Optional.of(jpegCut(b.length));
            }
            int marker = u8(b, pos++);
            if (marker == 0xD9) {
                return Optional.empty();
            }
            if (isStandalone(marker)) {
                continue;
            }
            if (pos + 2 > b.length) {
                return Optional.of(jpegCut(b.length));
            }
            pos += (u8(b, pos) << 8) | u8(b, pos + 1);
            if (pos > b.length) {
                return Optional.of(jpegCut(b.length));
            }
            if (marker == 0xDA) {
                pos = endOfEntropyData(b, pos);
            }
        }
    }

    /** Index of the 0xFF that starts the first marker after entropy-coded data, or the length when none does. */
    private static int endOfEntropyData(byte[] b, int pos) {
        for (int i = pos; i + 1 < b.length; i++) {
            if (u8(b, i) == 0xFF) {
                int next = u8(b, i + 1);
                if (next != 0x00 && next != 0xFF && !isRestart(next)) {
                    return i;
                }
            }
        }
        return b.length;
    }

    private static boolean isStandalone(int marker) {
        return marker == 0x01 || marker == 0xD8 || isRestart(marker);
    }

    private static boolean isRestart(int marker) {
        return marker >= 0xD0 && marker <= 0xD7;
    }

    private static String jpegCut(int length) {
        return "the data ends after " + length + " bytes, before the EOI marker (FF D9)";
    }

    /**
     * Walks the GIF blocks after the logical screen descriptor and its global colour table: extensions and
     * images (descriptor, local colour table, LZW code size, data sub-blocks) up to the trailer {@code 0x3B}. A
     * byte that starts no known block ends the walk without a verdict: the reader decides about such a stream.
     */
    static Optional<String> gif(byte[] b) {
        if (b.length < 13) {
            return Optional.of(gifCut(b.length));
        }
        int pos = 13 + colourTableBytes(u8(b, 10));
        while (pos < b.length) {
            int introducer = u8(b, pos);
            if (introducer == 0x3B) {
                return Optional.empty();
            }
            if (introducer == 0x21) {
                pos = skipSubBlocks(b, pos + 2); // introducer, label
            } else if (introducer == 0x2C) {
                if (pos + 10 > b.length) {
                    break;
                }
                pos = skipSubBlocks(b, pos + 10 + colourTableBytes(u8(b, pos + 9)) + 1); // + LZW code size
            } else {
                return Optional.empty();
            }
        }
        return Optional.of(gifCut(b.length));
    }

    /** Size of the colour table a GIF packed field declares (flag 0x80, size 3 * 2^(n + 1)). */
    private static int colourTableBytes(int packed) {
        return (packed & 0x80) == 0 ? 0 : 3 << ((packed & 0x07) + 1);
    }

    /** Position after the terminating zero-length sub-block, or past the end when the data stops first. */
    private static int skipSubBlocks(byte[] b, int pos) {
        while (pos < b.length) {
            int size = u8(b, pos);
            pos += 1 + size;
            if (size == 0) {
                return pos;
            }
        }
        return b.length + 1;
    }

    private static String gifCut(int length) {
        return "the data ends after " + length + " bytes, before the GIF trailer (3B)";
    }

    /** Compares the length with the RIFF header's: {@code RIFF}, then the size of what follows the first 8 bytes. */
    static Optional<String> webp(byte[] b) {
        if (b.length < 8) {
            return Optional.of("the data ends after " + b.length + " bytes, inside the RIFF header");
        }
        long declared = 8L + (u8(b, 4) | u8(b, 5) << 8 | u8(b, 6) << 16 | (long) u8(b, 7) << 24);
        if (b.length < declared) {
            return Optional.of("the data ends after " + b.length + " of the " + declared
                    + " bytes its RIFF header declares");
        }
        return Optional.empty();
    }

    private static int u8(byte[] b, int i) {
        return b[i] & 0xFF;
    }
}
