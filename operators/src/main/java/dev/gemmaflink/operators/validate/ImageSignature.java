package dev.gemmaflink.operators.validate;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The image formats the pipeline knows, told apart by the magic bytes their files start with, and the media types
 * that declare each. Validation compares the two so that a request whose declared type is not what its bytes are
 * is refused before it reaches an enricher.
 */
enum ImageSignature {
    /** {@code FF D8 FF}: SOI and the first byte of the next marker. */
    JPEG(Set.of("image/jpeg", "image/jpg", "image/pjpeg")) {
        @Override
        boolean matches(ByteBuffer b) {
            return startsWith(b, 0, 0xFF, 0xD8, 0xFF);
        }
    },
    /** The 8-byte PNG signature {@code 89 50 4E 47 0D 0A 1A 0A}. */
    PNG(Set.of("image/png")) {
        @Override
        boolean matches(ByteBuffer b) {
            return startsWith(b, 0, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A);
        }
    },
    /** {@code GIF87a} or {@code GIF89a}. */
    GIF(Set.of("image/gif")) {
        @Override
        boolean matches(ByteBuffer b) {
            return startsWith(b, 0, 'G', 'I', 'F', '8') && (startsWith(b, 4, '7', 'a') || startsWith(b, 4, '9', 'a'));
        }
    },
    /** {@code RIFF}, a 4-byte size, {@code WEBP}. */
    WEBP(Set.of("image/webp")) {
        @Override
        boolean matches(ByteBuffer b) {
            return startsWith(b, 0, 'R', 'I', 'F', 'F') && startsWith(b, 8, 'W', 'E', 'B', 'P');
        }
    },
    /** {@code BM}. */
    BMP(Set.of("image/bmp", "image/x-bmp", "image/x-ms-bmp")) {
        @Override
        boolean matches(ByteBuffer b) {
            return startsWith(b, 0, 'B', 'M');
        }
    };

    private final Set<String> mediaTypes;

    ImageSignature(Set<String> mediaTypes) {
        this.mediaTypes = mediaTypes;
    }

    /** Whether the image data (from its position, which is left unchanged) starts with this format's magic. */
    abstract boolean matches(ByteBuffer data);

    /**
     * @param mediaType a media type, lower case and trimmed
     * @return the format it declares; empty for a type this class has no signature of
     */
    static Optional<ImageSignature> declaredBy(String mediaType) {
        return Arrays.stream(values()).filter(f -> f.mediaTypes.contains(mediaType)).findFirst();
    }

    /** The format whose magic the data starts with; empty when none does. */
    static Optional<ImageSignature> of(ByteBuffer data) {
        return Arrays.stream(values()).filter(f -> f.matches(data)).findFirst();
    }

    /** Names of every known format, for a reason that lists them. */
    static String names() {
        List<String> names = Arrays.stream(values()).map(ImageSignature::toString).toList();
        return String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.get(names.size() - 1);
    }

    /** The first {@code n} bytes of the data in hex, to show what was sent instead. */
    static String firstBytes(ByteBuffer data, int n) {
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < Math.min(n, data.remaining()); i++) {
            hex.append(String.format(Locale.ROOT, "%02x", data.get(data.position() + i) & 0xFF));
        }
        return hex.toString();
    }

    /** The display name: {@code WebP} as the format spells itself, the others in capitals. */
    @Override
    public String toString() {
        return this == WEBP ? "WebP" : name();
    }

    private static boolean startsWith(ByteBuffer b, int offset, int... magic) {
        if (b.remaining() < offset + magic.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if ((b.get(b.position() + offset + i) & 0xFF) != magic[i]) {
                return false;
            }
        }
        return true;
    }
}
