package dev.gemmaflink.runtime.model;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.kvcache.ChunkSlots;
import java.util.ArrayList;
import java.util.List;

/**
 * The inputs of one {@link ForwardBatch} as the generated {@code forward} takes them (see {@link GemmaScript}): every
 * integer in one packed int64 buffer with its section sizes and the step's dimensions, plus the image soft-token
 * embeddings. Pure Java, so the layout, grouping and padding rules are testable without the engine.
 *
 * <p>Attention groups: every single-token step (decode) joins one group; each multi-token step (prefill or a
 * prompt chunk) is a group of its own. Tokens are laid out group by group (flat order), so a group's queries are
 * one contiguous run of rows and need no padding; only contexts are padded, to a multiple of
 * {@link GemmaScript#CONTEXT_ALIGN}. Logit rows stay in the batch's sequence order. Large paged contexts
 * ({@link ChunkSlots#isPaged()}) travel as their blocks ({@link #tableMinEntries}).
 *
 * <p>Bucketed ({@link GraphMode#OPTIMIZED}): the decode group's sequences, the step's tokens T and logit rows N are
 * padded to {@link ShapeBuckets#rows}, contexts to {@link ShapeBuckets#context} (and a paged context's block count to
 * what that length can span). Padding sequences of the decode group follow its real ones: token 0 at position 0, a
 * context of masked entries only (slot 0 at {@link GemmaScript#PAD_POSITION}, or no blocks). Tokens that bring T up
 * to its bucket extend the last group: more padding sequences when it is the decode group, else more queries of the
 * last multi-token step at the positions after its own (they see its context; no real query sees them, since they
 * are in no context). Every padding token writes its K/V to the storage's scratch slot ({@link KvStorage#scratchSlot}),
 * which no context reads. Padding logit rows repeat flat row 0. Image soft tokens are not bucketed.
 */
final class BatchTensors {

    private static final LayerType[] TYPES = {LayerType.SLIDING_ATTENTION, LayerType.FULL_ATTENTION};

    /**
     * Context entries (sequences x padded length) of a group and layer type from which paged contexts travel as
     * blocks: below it the expanded slots are cheaper than computing them on the device. Tests lower it.
     */
    static volatile int tableMinEntries = 4096;

    private long[] buf = new long[256];
    private int used;
    private final List<Long> sizes = new ArrayList<>();
    private final List<Long> dims = new ArrayList<>();
    private final int[] firstRow;
    private final int[] rowCount;
    private float[] soft = new float[0];
    private int softRows;

    private BatchTensors(int sequences) {
        this.firstRow = new int[sequences];
        this.rowCount = new int[sequences];
    }

    /** Observer of each built step's {@link #sizes()} and {@link #dims()} (tests count distinct shapes); null: none. */
    static volatile java.util.function.BiConsumer<long[], long[]> observer;

    static BatchTensors build(ForwardBatch batch, GemmaConfig cfg, KvStorage kv) {
        return build(batch, cfg, kv, false);
    }

    /** @param bucketed pad the step's shapes to {@link ShapeBuckets} (see the class comment) */
    static BatchTensors build(ForwardBatch batch, GemmaConfig cfg, KvStorage kv, boolean bucketed) {
        List<SequenceStep> steps = batch.steps();
        int nb = steps.size();
        for (LayerType type : TYPES) {
            for (int b = 0; b < nb; b++) {
                ChunkSlots c = steps.get(b).slots(type);
                if (c.maxSlot() >= kv.slots(type)) {
                    throw new IllegalArgumentException("sequence " + b + " uses slot " + c.maxSlot() + " but the "
                            + type + " KV storage has " + kv.slots(type) + " slots");
                }
            }
        }
        BatchTensors bt = new BatchTensors(nb);
        List<int[]> groups = groups(steps);
        // Rows of each group as shaped: B (sequences) and Q (queries per sequence), padding included.
        int[] gRows = new int[groups.size()];
        int[] gQueries = new int[groups.size()];
        int realT = 0;
        for (int gi = 0; gi < groups.size(); gi++) {
            int[] g = groups.get(gi);
            boolean decode = steps.get(g[0]).length() == 1;
            gRows[gi] = decode && bucketed ? ShapeBuckets.rows(g.length) : g.length;
            gQueries[gi] = steps.get(g[0]).length(); // a multi-token group holds one step
            realT += gRows[gi] * gQueries[gi];
        }
        int t = bucketed ? ShapeBuckets.rows(realT) : realT;
        int last = groups.size() - 1;
        if (gQueries[last] == 1) {
            gRows[last] += t - realT;
        } else {
            gQueries[last] += t - realT;
        }
        int[] flatStart = new int[nb];
        int[] groupStart = new int[groups.size()];
        int flat = 0;
        for (int gi = 0; gi < groups.size(); gi++) {
            groupStart[gi] = flat;
            for (int b : groups.get(gi)) {
                flatStart[b] = flat;
                flat += steps.get(b).length();
            }
            flat = groupStart[gi] + gRows[gi] * gQueries[gi];
        }
        // ids, pos, wslotL, wslotG: four sections of T, in flat order.
        int ids = bt.section(t);
        int pos = bt.section(t);
        int wsL = bt.section(t);
        int wsG = bt.section(t);
        // Padding tokens: id 0, write to the scratch slot; positions 0, or after their multi-token step's own.
        java.util.Arrays.fill(bt.buf, wsL, wsL + t, kv.scratchSlot(LayerType.SLIDING_ATTENTION));
        java.util.Arrays.fill(bt.buf, wsG, wsG + t, kv.scratchSlot(LayerType.FULL_ATTENTION));
        if (gQueries[last] > 1) {
            SequenceStep s = steps.get(groups.get(last)[0]);
            for (int i = s.length(); i < gQueries[last]; i++) {
                bt.buf[pos + groupStart[last] + i] = (long) s.firstPosition() + i;
            }
        }
        List<float[]> softParts = new ArrayList<>();
        List<Long> softIdx = new ArrayList<>();
        int rows = 0;
        for (int b = 0; b < nb; b++) {
            rows += steps.get(b).logitRows();
        }
        int realRows = rows;
        int rowAt = bt.section(bucketed ? ShapeBuckets.rows(rows) : rows); // padding: flat row 0
        rows = 0;
        for (int b = 0; b < nb; b++) {
            SequenceStep s = steps.get(b);
            bt.firstRow[b] = rows;
            StepImages im = s.images();
            if (im != null && im.count() > 0) {
                if (im.hidden() != cfg.hiddenSize()) {
                    throw new IllegalArgumentException("sequence " + b + " has soft-token embeddings of width "
                            + im.hidden() + " but the model's hidden size is " + cfg.hiddenSize());
                }
                softParts.add(im.rawEmbeddings());
            }
            int softCursor = 0;
            for (int i = 0; i < s.length(); i++) {
                int f = flatStart[b] + i;
                int tok = s.token(i);
                if (im != null && softCursor < im.count() && im.tokenIndex(softCursor) == i) {
                    // Replaced after the embedding lookup; the image token id may lie outside the vocabulary.
                    softCursor++;
                    softIdx.add((long) f);
                    tok = 0;
                } else if (tok < 0 || tok >= cfg.vocabSize()) {
                    throw new IllegalArgumentException("token id " + tok + " of sequence " + b
                            + " is outside the vocabulary [0, " + cfg.vocabSize() + ")");
                }
                bt.buf[ids + f] = tok;
                bt.buf[pos + f] = (long) s.firstPosition() + i;
                bt.buf[wsL + f] = s.sliding().writeSlot(i);
                bt.buf[wsG + f] = s.full().writeSlot(i);
                if (s.allLogits() || i == s.length() - 1) {
                    bt.buf[rowAt + rows++] = f;
                }
            }
            bt.rowCount[b] = rows - bt.firstRow[b];
        }
        int softAt = bt.section(softIdx.size());
        for (int i = 0; i < softIdx.size(); i++) {
            bt.buf[softAt + i] = softIdx.get(i);
        }
        bt.dims.add((long) t);
        bt.dims.add((long) (bucketed ? ShapeBuckets.rows(realRows) : realRows));
        bt.dims.add((long) softIdx.size());
        bt.dims.add((long) groups.size());
        for (int gIndex = 0; gIndex < groups.size(); gIndex++) {
            int[] g = groups.get(gIndex);
            int gb = gRows[gIndex]; // padding sequences included: entries j >= g.length
            int gq = gQueries[gIndex];
            int[] gl = new int[TYPES.length];
            for (int ti = 0; ti < TYPES.length; ti++) {
                int longest = 0;
                for (int b : g) {
                    longest = Math.max(longest, steps.get(b).slots(TYPES[ti]).contextLength());
                }
                gl[ti] = bucketed ? ShapeBuckets.context(longest) : align(longest);
            }
            boolean images = g.length == 1 && steps.get(g[0]).length() > 1 && steps.get(g[0]).images() != null
                    && !steps.get(g[0]).images().spans().isEmpty();
            // Per layer type: a paged context ships its blocks when the expanded slots would be large (the device
            // computes the slots); otherwise slots and positions.
            int[] pagedBlockSize = new int[TYPES.length];
            for (int ti = 0; ti < TYPES.length; ti++) {
                int bs = steps.get(g[0]).slots(TYPES[ti]).blockSize();
                boolean paged = (long) gb * gl[ti] >= tableMinEntries;
                for (int b : g) {
                    ChunkSlots c = steps.get(b).slots(TYPES[ti]);
                    paged &= c.isPaged() && c.blockSize() == bs;
                }
                pagedBlockSize[ti] = paged ? bs : 0;
            }
            bt.dims.add((long) groupStart[gIndex]);
            bt.dims.add((long) gb);
            bt.dims.add((long) gq);
            bt.dims.add((long) gl[0]);
            bt.dims.add((long) gl[1]);
            bt.dims.add(images ? 1L : 0L);
            bt.dims.add((long) pagedBlockSize[0]);
            bt.dims.add((long) pagedBlockSize[1]);
            for (int ti = 0; ti < TYPES.length; ti++) {
                if (pagedBlockSize[ti] > 0) {
                    int blocks = 0;
                    for (int b : g) {
                        blocks = Math.max(blocks, steps.get(b).slots(TYPES[ti]).blockCount());
                    }
                    int bs = pagedBlockSize[ti];
                    if (bucketed) {
                        // The most blocks a context of gl entries spans (it may start anywhere in its first block).
                        blocks = Math.max(blocks, (gl[ti] + 2 * bs - 2) / bs);
                    }
                    int tbl = bt.section(gb * blocks); // padding: block 0, never read (the entry is masked)
                    int first = bt.section(gb);
                    int length = bt.section(gb); // padding sequences: length 0, every entry masked
                    for (int j = 0; j < g.length; j++) {
                        ChunkSlots c = steps.get(g[j]).slots(TYPES[ti]);
                        for (int k = 0; k < c.blockCount(); k++) {
                            bt.buf[tbl + j * blocks + k] = c.block(k);
                        }
                        bt.buf[first + j] = c.firstContextPosition();
                        bt.buf[length + j] = c.contextLength();
                    }
                    continue;
                }
                int ctx = bt.section(gb * gl[ti]);
                int kpos = bt.section(gb * gl[ti]);
                // Padding sequences: every entry slot 0 at the padding position.
                java.util.Arrays.fill(bt.buf, kpos + g.length * gl[ti], kpos + gb * gl[ti], GemmaScript.PAD_POSITION);
                for (int j = 0; j < g.length; j++) {
                    ChunkSlots c = steps.get(g[j]).slots(TYPES[ti]);
                    int base = j * gl[ti];
                    for (int i = 0; i < c.contextLength(); i++) {
                        bt.buf[ctx + base + i] = c.contextSlot(i);
                        bt.buf[kpos + base + i] = c.contextPosition(i);
                    }
                    // Padding: slot 0, at a position no query sees.
                    java.util.Arrays.fill(bt.buf, kpos + base + c.contextLength(), kpos + base + gl[ti],
                            GemmaScript.PAD_POSITION);
                }
            }
            if (images) {
                // Per query and key, the image span it belongs to (-1: text or padding).
                SequenceStep s = steps.get(g[0]);
                int qg = bt.section(gq);
                java.util.Arrays.fill(bt.buf, qg, qg + gq, -1); // padding queries: no image
                for (int i = 0; i < s.length(); i++) {
                    bt.buf[qg + i] = s.images().spanOf((long) s.firstPosition() + i);
                }
                for (int ti = 0; ti < TYPES.length; ti++) {
                    ChunkSlots c = s.slots(TYPES[ti]);
                    int kg = bt.section(gl[ti]);
                    java.util.Arrays.fill(bt.buf, kg, kg + gl[ti], -1);
                    for (int i = 0; i < c.contextLength(); i++) {
                        bt.buf[kg + i] = s.images().spanOf(c.contextPosition(i));
                    }
                }
            }
        }
        int total = softParts.stream().mapToInt(a -> a.length).sum();
        bt.soft = new float[total];
        int at = 0;
        for (float[] part : softParts) {
            System.arraycopy(part, 0, bt.soft, at, part.length);
            at += part.length;
        }
        bt.softRows = softIdx.size();
        java.util.function.BiConsumer<long[], long[]> o = observer;
        if (o != null) {
            o.accept(bt.sizes(), bt.dims());
        }
        return bt;
    }

    private static int align(int n) {
        int a = GemmaScript.CONTEXT_ALIGN;
        return (n + a - 1) / a * a;
    }

    /** Appends a zeroed section of {@code n} entries and returns its offset in the buffer. */
    private int section(int n) {
        int at = used;
        if (used + n > buf.length) {
            buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, used + n));
        }
        used += n;
        sizes.add((long) n);
        return at;
    }

    /** Sequence indices per attention group: the decode steps together (first), then each longer step alone. */
    static List<int[]> groups(List<SequenceStep> steps) {
        List<int[]> groups = new ArrayList<>();
        int[] decode = java.util.stream.IntStream.range(0, steps.size()).filter(b -> steps.get(b).length() == 1)
                .toArray();
        if (decode.length > 0) {
            groups.add(decode);
        }
        for (int b = 0; b < steps.size(); b++) {
            if (steps.get(b).length() > 1) {
                groups.add(new int[] {b});
            }
        }
        return groups;
    }

    /** The packed int64 inputs, {@link #bufferLength()} entries used. */
    long[] buffer() {
        return buf;
    }

    int bufferLength() {
        return used;
    }

    /** Section lengths of the buffer, in order ({@code split_with_sizes}). */
    long[] sizes() {
        return sizes.stream().mapToLong(Long::longValue).toArray();
    }

    /** {@code [T, N, S, groups]}, then per group {@code [start, B, Q, LL, LG, images, pagedL, pagedG]}. */
    long[] dims() {
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    /** Soft-token embeddings (softRows x hidden), in the order of the soft-token index section. */
    float[] soft() {
        return soft;
    }

    int softRows() {
        return softRows;
    }

    int[] firstRow() {
        return firstRow.clone();
    }

    int[] rowCount() {
        return rowCount.clone();
    }
}
