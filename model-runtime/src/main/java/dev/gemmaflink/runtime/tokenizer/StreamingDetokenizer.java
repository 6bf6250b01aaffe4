package dev.gemmaflink.runtime.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Turns generated token ids into text as they arrive, emitting only complete UTF-8.
 *
 * <p>A character may be split over several byte-fallback tokens ({@code <0xF0><0x9F><0x98><0x80>} is one emoji)
 * or over pieces; bytes of an unfinished character are held back until the rest arrives. Bytes that can never
 * form a character become U+FFFD, as the tokenizer's own decoder does. For well-formed output, concatenating
 * every {@link #accept} result and {@link #flush()} gives the same text as decoding all ids at once (for
 * malformed byte runs the number of U+FFFD may differ: Java replaces maximal invalid subsequences, the Hugging
 * Face decoder each byte token).
 *
 * <p>Not thread-safe: one instance per generated sequence.
 */
public final class StreamingDetokenizer {
    private final Vocabulary vocabulary;
    private final boolean skipSpecial;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    StreamingDetokenizer(Vocabulary vocabulary, boolean skipSpecial) {
        this.vocabulary = vocabulary;
        this.skipSpecial = skipSpecial;
    }

    /**
     * @param tokenId the next generated id
     * @return text completed by this token; empty while a character is still incomplete
     */
    public String accept(int tokenId) {
        byte[] b = vocabulary.bytes(tokenId, skipSpecial);
        pending.write(b, 0, b.length);
        byte[] all = pending.toByteArray();
        int complete = completePrefix(all);
        pending.reset();
        pending.write(all, complete, all.length - complete);
        return decode(all, complete);
    }

    /** @return held-back bytes of an unfinished character as U+FFFD (end of sequence), then resets */
    public String flush() {
        byte[] all = pending.toByteArray();
        pending.reset();
        return decode(all, all.length);
    }

    /** @return whether bytes of an unfinished character are held back */
    public boolean hasPending() {
        return pending.size() > 0;
    }

    /**
     * Length of the prefix that can be decoded now: everything except a trailing sequence that is a valid
     * beginning of a multi-byte character.
     */
    static int completePrefix(byte[] b) {
        int n = b.length;
        // A UTF-8 character is at most 4 bytes: only the last 3 can be an unfinished one.
        for (int back = 1; back <= Math.min(3, n); back++) {
            int lead = b[n - back] & 0xFF;
            if ((lead & 0xC0) == 0x80) {
                continue; // continuation byte, keep looking for the lead
            }
            int need = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 && lead < 0xE0 ? 2 : 1;
            if (lead >= 0xF5 || lead < 0xC2) {
                need = 1; // ASCII or an invalid lead: nothing to wait for
            }
            return need > back ? n - back : n;
        }
        return n;
    }

    private static String decode(byte[] b, int len) {
        if (len == 0) {
            return "";
        }
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
        try {
            return d.decode(ByteBuffer.wrap(b, 0, len)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalStateException("REPLACE decoder reported an error", e);
        }
    }
}
