package dev.gemmaflink.runtime.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.gemmaflink.runtime.ModelLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Gemma 3 tokenizer: DJL's Hugging Face tokenizer on a checkpoint's {@code tokenizer.json}, configured the way
 * generation needs it: no truncation (DJL otherwise cuts at 512 tokens), no padding, no automatic special
 * tokens; BOS is added explicitly by {@link #encode(String, boolean)}.
 *
 * <p>Thread-safe for encode/decode. Loading the real 33 MB file takes 2-4 s: share instances.
 *
 * <pre>{@code
 * try (GemmaTokenizer tok = GemmaTokenizer.load(modelDir)) {
 *     int[] ids = tok.encodeChat(List.of(ChatMessage.user("Hi")));   // BOS + turn markup
 *     StreamingDetokenizer out = tok.streamingDetokenizer(true);
 * }
 * }</pre>
 */
public final class GemmaTokenizer implements AutoCloseable {
    /** {@code <pad>}. */
    public static final int PAD_ID = 0;
    /** {@code <eos>}. */
    public static final int EOS_ID = 1;
    /** {@code <bos>}. */
    public static final int BOS_ID = 2;
    /** {@code <start_of_turn>}. */
    public static final int START_OF_TURN_ID = 105;
    /** {@code <end_of_turn>}. */
    public static final int END_OF_TURN_ID = 106;

    private final Path source;
    private final HuggingFaceTokenizer tokenizer;
    private final Vocabulary vocabulary;
    private final int bosId;
    private final int[] stopIds;

    private GemmaTokenizer(Path source, HuggingFaceTokenizer tokenizer, Vocabulary vocabulary) {
        this.source = source;
        this.tokenizer = tokenizer;
        this.vocabulary = vocabulary;
        this.bosId = vocabulary.id("<bos>").orElseThrow(() -> new ModelLoadException("tokenizer " + source + " has no <bos>"));
        List<Integer> stops = new ArrayList<>();
        vocabulary.id("<eos>").ifPresent(stops::add);
        vocabulary.id("<end_of_turn>").ifPresent(stops::add);
        this.stopIds = stops.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * @param tokenizerJsonOrDir a tokenizer.json, or a directory holding one
     * @return the loaded tokenizer
     * @throws ModelLoadException when the file is missing or not a valid tokenizer
     */
    public static GemmaTokenizer load(Path tokenizerJsonOrDir) {
        Path file = Files.isDirectory(tokenizerJsonOrDir) ? tokenizerJsonOrDir.resolve("tokenizer.json") : tokenizerJsonOrDir;
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException("tokenizer.json not found: " + file);
        }
        // The id->piece table and the native tokenizer both parse the file: do it side by side (about 1 s saved
        // on the real 33 MB file).
        CompletableFuture<Vocabulary> vocabFuture = CompletableFuture.supplyAsync(() -> Vocabulary.read(file));
        HuggingFaceTokenizer tok;
        try {
            tok = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(false)
                    .optTruncation(false)
                    .optPadding(false)
                    .build();
        } catch (IOException | RuntimeException e) {
            vocabFuture.cancel(false);
            throw new ModelLoadException("cannot load tokenizer " + file + ": " + e, e);
        }
        try {
            return new GemmaTokenizer(file, tok, joinVocabulary(vocabFuture));
        } catch (RuntimeException e) {
            tok.close();
            throw e;
        }
    }

    private static Vocabulary joinVocabulary(CompletableFuture<Vocabulary> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException) {
                throw (RuntimeException) e.getCause();
            }
            throw e;
        }
    }

    /**
     * @param text raw text; {@code <start_of_turn>} and other special-token spellings become their ids
     * @param addBos whether to put {@code <bos>} first (the text "[BOS]" or "<bos>" typed by a user is not it)
     * @return token ids
     */
    public int[] encode(String text, boolean addBos) {
        Encoding enc = tokenizer.encode(text, false, false);
        long[] ids = enc.getIds();
        int off = addBos ? 1 : 0;
        int[] out = new int[ids.length + off];
        if (addBos) {
            out[0] = bosId;
        }
        for (int i = 0; i < ids.length; i++) {
            out[i + off] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /**
     * @param messages the conversation (see {@link ChatFormat#format})
     * @return BOS + the formatted turns + the opened model turn
     */
    public int[] encodeChat(List<ChatMessage> messages) {
        return encode(ChatFormat.format(messages, true), true);
    }

    /** @return the text of {@code ids}, special tokens spelled out */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /**
     * @param ids token ids
     * @param skipSpecialTokens whether to drop special tokens ({@code <bos>}, {@code <end_of_turn>}, ...)
     * @return the decoded text (byte-fallback runs joined into characters)
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return tokenizer.decode(l, skipSpecialTokens);
    }

    /**
     * @param skipSpecialTokens whether special tokens produce no text
     * @return a new per-sequence streaming decoder
     */
    public StreamingDetokenizer streamingDetokenizer(boolean skipSpecialTokens) {
        return new StreamingDetokenizer(vocabulary, skipSpecialTokens);
    }

    /** @return the number of ids the tokenizer knows (highest id + 1) */
    public int vocabSize() {
        return vocabulary.size();
    }

    /** @return the id of {@code <bos>} */
    public int bosId() {
        return bosId;
    }

    /** @return ids that end generation: {@code <eos>} and {@code <end_of_turn>} where present */
    public int[] stopIds() {
        return stopIds.clone();
    }

    /** @return the piece stored for {@code id}, e.g. {@code ▁the} or {@code <0xF0>} */
    public String piece(int id) {
        return vocabulary.piece(id);
    }

    /** @return the id of a piece or added token, if present */
    public Optional<Integer> tokenId(String piece) {
        return vocabulary.id(piece);
    }

    /**
     * @return the UTF-8 bytes token {@code id} adds to decoded text (special tokens skipped), as
     *     {@link StreamingDetokenizer} writes them: empty for special tokens and for ids without a piece
     */
    public byte[] tokenBytes(int id) {
        return vocabulary.textBytes(id);
    }

    /** @return whether {@code id} is a special token */
    public boolean isSpecial(int id) {
        return vocabulary.isSpecial(id);
    }

    /** @return the tokenizer.json this was loaded from */
    public Path source() {
        return source;
    }

    /** Frees the native tokenizer. */
    @Override
    public void close() {
        tokenizer.close();
    }
}
