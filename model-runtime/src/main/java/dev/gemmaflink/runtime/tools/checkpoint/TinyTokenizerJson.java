package dev.gemmaflink.runtime.tools.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Generates a small Hugging Face {@code tokenizer.json} with the structure of Gemma 3's (BPE, byte fallback,
 * spaces as {@code ▁} merged onto the previous word, the same decoder), for tiny test checkpoints.
 *
 * <p>Id layout by vocabulary size:
 * <ul>
 *   <li>{@code >= 363}: Gemma's ids kept: {@code <pad>} 0, {@code <eos>} 1, {@code <bos>} 2, {@code <unk>} 3,
 *       {@code <mask>} 4, {@code [multimodal]} 5, {@code <unused0..98>} 6..104, {@code <start_of_turn>} 105,
 *       {@code <end_of_turn>} 106, byte tokens {@code <0x00>..<0xFF>} 107..362, then {@code ▁}, printable ASCII
 *       and merges learnt on a fixed English/code sample;</li>
 *   <li>{@code 260..362}: ids 0..3 as above, byte tokens 4..259, then characters and merges (no turn tokens);</li>
 *   <li>{@code 8..259}: ids 0..3, then as many characters as fit; no byte fallback, other text maps to
 *       {@code <unk>}.</li>
 * </ul>
 * Any text encodes when the vocabulary holds the byte tokens. Remaining ids are filled with unreachable
 * {@code <unused...>} pieces so ids cover exactly {@code 0..vocab-1}.
 */
public final class TinyTokenizerJson {
    /** Smallest vocabulary accepted. */
    public static final int MIN_VOCAB = 8;
    /** Smallest vocabulary that keeps Gemma's ids up to {@code <end_of_turn>} and has byte fallback. */
    public static final int GEMMA_LAYOUT_MIN_VOCAB = 107 + 256;

    private static final String SPACE = "\u2581";
    /** Fixed training sample: deterministic merges, typical English and code pieces. */
    private static final String SAMPLE = String.join(" ",
            "the quick brown fox jumps over the lazy dog and the cat sat on the mat while the sun was shining",
            "in the morning there is a streaming job that reads the events from the topic and writes the results",
            "this is a test of the tokenizer for the model that we are running in the streaming pipeline",
            "hello world hello there how are you doing today it is a good day to write some code",
            "public static void main String args return new int for if else while class import",
            "user model system the answer is that the question was about the weather in the city",
            "on the other hand we think that it will be interesting to see what happens when the data arrives",
            "numbers 0 1 2 3 4 5 6 7 8 9 10 100 1000 and the end of the sentence is here.");

    private TinyTokenizerJson() {
    }

    /**
     * @param vocab vocabulary size ({@value #MIN_VOCAB} or more)
     * @return tokenizer.json text
     */
    public static String generate(int vocab) {
        if (vocab < MIN_VOCAB) {
            throw new IllegalArgumentException("tiny tokenizer vocab must be at least " + MIN_VOCAB + ", got " + vocab);
        }
        Map<String, Integer> ids = new LinkedHashMap<>();
        List<String[]> added = new ArrayList<>(); // content, special
        add(ids, added, "<pad>", true);
        add(ids, added, "<eos>", true);
        add(ids, added, "<bos>", true);
        add(ids, added, "<unk>", true);
        boolean gemmaLayout = vocab >= GEMMA_LAYOUT_MIN_VOCAB;
        boolean byteFallback = vocab >= 4 + 256;
        if (gemmaLayout) {
            add(ids, added, "<mask>", false);
            add(ids, added, "[multimodal]", false);
            for (int i = 0; ids.size() < 105; i++) {
                add(ids, added, "<unused" + i + ">", false);
            }
            add(ids, added, "<start_of_turn>", true);
            add(ids, added, "<end_of_turn>", true);
        }
        if (byteFallback) {
            for (int b = 0; b < 256; b++) {
                ids.put(String.format("<0x%02X>", b), ids.size());
            }
        }
        List<String> alphabet = new ArrayList<>();
        alphabet.add(SPACE);
        for (char c = 33; c < 127; c++) {
            alphabet.add(String.valueOf(c));
        }
        for (String a : alphabet) {
            if (ids.size() >= vocab) {
                break;
            }
            ids.put(a, ids.size());
        }
        List<String[]> merges = learnMerges(ids, vocab);
        for (int i = 0; ids.size() < vocab; i++) {
            String filler = "<unused_tiny" + i + ">";
            ids.put(filler, ids.size());
        }
        return toJson(ids, added, merges, byteFallback);
    }

    private static void add(Map<String, Integer> ids, List<String[]> added, String content, boolean special) {
        ids.put(content, ids.size());
        added.add(new String[] {content, Boolean.toString(special)});
    }

    /** Byte-pair merges on the sample, split the way the tokenizer's pre-tokenizer splits text. */
    private static List<String[]> learnMerges(Map<String, Integer> ids, int vocab) {
        Map<String, Integer> wordFreq = new LinkedHashMap<>();
        String normalized = SAMPLE.replace(" ", SPACE);
        int start = 0;
        for (int i = 0; i < normalized.length(); i++) {
            if (normalized.charAt(i) == SPACE.charAt(0)) { // MergedWithPrevious: the ▁ ends the word
                wordFreq.merge(normalized.substring(start, i + 1), 1, Integer::sum);
                start = i + 1;
            }
        }
        if (start < normalized.length()) {
            wordFreq.merge(normalized.substring(start), 1, Integer::sum);
        }
        List<List<String>> words = new ArrayList<>();
        List<Integer> freqs = new ArrayList<>();
        for (Map.Entry<String, Integer> e : wordFreq.entrySet()) {
            List<String> symbols = new ArrayList<>();
            e.getKey().codePoints().forEach(cp -> symbols.add(new String(Character.toChars(cp))));
            if (symbols.stream().allMatch(ids::containsKey)) {
                words.add(symbols);
                freqs.add(e.getValue());
            }
        }
        List<String[]> merges = new ArrayList<>();
        while (ids.size() < vocab) {
            Map<String, Integer> pairFreq = new HashMap<>();
            for (int w = 0; w < words.size(); w++) {
                List<String> s = words.get(w);
                for (int i = 0; i + 1 < s.size(); i++) {
                    pairFreq.merge(s.get(i) + "\u0000" + s.get(i + 1), freqs.get(w), Integer::sum);
                }
            }
            String best = null;
            int bestFreq = 1;
            for (Map.Entry<String, Integer> e : pairFreq.entrySet()) {
                // Highest frequency; ties broken by the pair text so the result never depends on hashing.
                if (e.getValue() > bestFreq || (e.getValue() == bestFreq && best != null && e.getKey().compareTo(best) < 0)) {
                    if (e.getValue() >= 2) {
                        best = e.getKey();
                        bestFreq = e.getValue();
                    }
                }
            }
            if (best == null) {
                break;
            }
            String[] pair = best.split("\u0000", -1);
            String merged = pair[0] + pair[1];
            if (ids.containsKey(merged)) {
                break;
            }
            ids.put(merged, ids.size());
            merges.add(pair);
            for (List<String> s : words) {
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (s.get(i).equals(pair[0]) && s.get(i + 1).equals(pair[1])) {
                        s.set(i, merged);
                        s.remove(i + 1);
                    }
                }
            }
        }
        return merges;
    }

    private static String toJson(Map<String, Integer> ids, List<String[]> added, List<String[]> merges, boolean byteFallback) {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode addedNode = root.putArray("added_tokens");
        for (String[] a : added) {
            ObjectNode t = addedNode.addObject();
            t.put("id", ids.get(a[0]));
            t.put("content", a[0]);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", Boolean.parseBoolean(a[1]));
        }
        ObjectNode normalizer = root.putObject("normalizer");
        normalizer.put("type", "Replace");
        normalizer.putObject("pattern").put("String", " ");
        normalizer.put("content", SPACE);
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Split");
        pre.putObject("pattern").put("String", " ");
        pre.put("behavior", "MergedWithPrevious");
        pre.put("invert", false);
        root.putNull("post_processor");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "Sequence");
        ArrayNode decoders = decoder.putArray("decoders");
        ObjectNode replace = decoders.addObject();
        replace.put("type", "Replace");
        replace.putObject("pattern").put("String", SPACE);
        replace.put("content", " ");
        if (byteFallback) {
            decoders.addObject().put("type", "ByteFallback");
        }
        decoders.addObject().put("type", "Fuse");
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", "<unk>");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", byteFallback);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        ids.forEach(vocab::put);
        ArrayNode mergesNode = model.putArray("merges");
        for (String[] p : merges) {
            mergesNode.addArray().add(p[0]).add(p[1]);
        }
        try {
            return m.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
