package dev.gemmaflink.runtime.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.gemmaflink.runtime.ModelLoadException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Id to piece table of a tokenizer.json (model vocabulary plus added tokens), read with a streaming parser
 * (the real file is 33 MB). Needed for per-token streaming output, which the DJL tokenizer cannot give for
 * byte-fallback pieces.
 */
final class Vocabulary {
    private static final String SPACE = "\u2581";

    private final String[] pieces;
    private final BitSet special;
    private final Map<String, Integer> ids;

    private Vocabulary(String[] pieces, BitSet special, Map<String, Integer> ids) {
        this.pieces = pieces;
        this.special = special;
        this.ids = ids;
    }

    static Vocabulary read(Path tokenizerJson) {
        Map<String, Integer> ids = new HashMap<>();
        BitSet special = new BitSet();
        int maxId = -1;
        JsonFactory f = new JsonFactory();
        try (InputStream in = Files.newInputStream(tokenizerJson); JsonParser p = f.createParser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new ModelLoadException("tokenizer " + tokenizerJson + " is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                if (field.equals("added_tokens") && p.currentToken() == JsonToken.START_ARRAY) {
                    while (p.nextToken() == JsonToken.START_OBJECT) {
                        Integer id = null;
                        String content = null;
                        boolean isSpecial = false;
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String k = p.currentName();
                            p.nextToken();
                            if (k.equals("id")) {
                                id = p.getIntValue();
                            } else if (k.equals("content")) {
                                content = p.getText();
                            } else if (k.equals("special")) {
                                isSpecial = p.getBooleanValue();
                            } else {
                                p.skipChildren();
                            }
                        }
                        if (id != null && content != null) {
                            ids.put(content, id);
                            maxId = Math.max(maxId, id);
                            if (isSpecial) {
                                special.set(id);
                            }
                        }
                    }
                } else if (field.equals("model") && p.currentToken() == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String k = p.currentName();
                        p.nextToken();
                        if (k.equals("vocab") && p.currentToken() == JsonToken.START_OBJECT) {
                            while (p.nextToken() == JsonToken.FIELD_NAME) { // BPE / WordPiece: {piece: id}
                                String piece = p.currentName();
                                p.nextToken();
                                int id = p.getIntValue();
                                ids.putIfAbsent(piece, id);
                                maxId = Math.max(maxId, id);
                            }
                        } else if (k.equals("vocab") && p.currentToken() == JsonToken.START_ARRAY) {
                            int id = 0; // Unigram: [[piece, score], ...]
                            while (p.nextToken() == JsonToken.START_ARRAY) {
                                p.nextToken();
                                ids.putIfAbsent(p.getText(), id);
                                maxId = Math.max(maxId, id);
                                id++;
                                while (p.nextToken() != JsonToken.END_ARRAY) {
                                    p.skipChildren();
                                }
                            }
                        } else {
                            p.skipChildren();
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof ModelLoadException) {
                throw (ModelLoadException) e;
            }
            throw new ModelLoadException("cannot read the vocabulary of tokenizer " + tokenizerJson + ": " + e, e);
        }
        if (maxId < 0) {
            throw new ModelLoadException("tokenizer " + tokenizerJson + " has no vocabulary");
        }
        String[] pieces = new String[maxId + 1];
        for (Map.Entry<String, Integer> e : ids.entrySet()) {
            if (e.getValue() >= 0) {
                pieces[e.getValue()] = e.getKey();
            }
        }
        return new Vocabulary(pieces, special, ids);
    }

    int size() {
        return pieces.length;
    }

    Optional<Integer> id(String piece) {
        return Optional.ofNullable(ids.get(piece));
    }

    String piece(int id) {
        if (id < 0 || id >= pieces.length || pieces[id] == null) {
            throw new IllegalArgumentException("token id " + id + " is not in the vocabulary (size " + pieces.length + ")");
        }
        return pieces[id];
    }

    boolean isSpecial(int id) {
        return special.get(id);
    }

    /** @return the byte of a byte-fallback piece {@code <0xNN>}, or -1 */
    int byteValue(int id) {
        String p = piece(id);
        if (p.length() == 6 && p.startsWith("<0x") && p.endsWith(">")) {
            int hi = Character.digit(p.charAt(3), 16);
            int lo = Character.digit(p.charAt(4), 16);
            if (hi >= 0 && lo >= 0) {
                return hi * 16 + lo;
            }
        }
        return -1;
    }

    /** @return the UTF-8 bytes a token contributes to decoded text (the decoder's Replace + ByteFallback) */
    byte[] bytes(int id, boolean skipSpecial) {
        if (skipSpecial && isSpecial(id)) {
            return new byte[0];
        }
        int b = byteValue(id);
        if (b >= 0) {
            return new byte[] {(byte) b};
        }
        return piece(id).replace(SPACE, " ").getBytes(StandardCharsets.UTF_8);
    }

    /** @return {@link #bytes(int, boolean)} skipping special tokens; empty for ids without a piece */
    byte[] textBytes(int id) {
        if (id < 0 || id >= pieces.length || pieces[id] == null) {
            return new byte[0];
        }
        return bytes(id, true);
    }

    @Override
    public String toString() {
        return "Vocabulary(" + pieces.length + " ids, e.g. " + Arrays.toString(Arrays.copyOf(pieces, Math.min(4, pieces.length)))
                + ")";
    }
}
