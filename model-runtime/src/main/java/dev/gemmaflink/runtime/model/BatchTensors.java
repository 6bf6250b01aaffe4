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

    static BatchTensors build(ForwardBatch batch, GemmaConfig cfg, KvStorage kv) {
        List<SequenceStep> steps = batch.steps();
        int nb = steps.size();
        int t = batch.totalTokens();
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
        int[] flatStart = new int[nb];
        int flat = 0;
        for (int[] g : groups) {
            for (int b : g) {
                flatStart[b] = flat;
                flat += steps.get(b).length();
            }
        }
        // ids, pos, wslotL, wslotG: four sections of T, in flat order.
        int ids = bt.section(t);
        int pos = bt.section(t);
        int wsL = bt.section(t);
        int wsG = bt.section(t);
        List<float[]> softParts = new ArrayList<>();
        List<Long> softIdx = new ArrayList<>();
        int rows = 0;
        for (int b = 0; b < nb; b++) {
            rows += steps.get(b).logitRows();
        }
        int rowAt = bt.section(rows);
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
        bt.dims.add((long) rows);
        bt.dims.add((long) softIdx.size());
        bt.dims.add((long) groups.size());
        for (int[] g : groups) {
            int gb = g.length;
            int gq = steps.get(g[0]).length(); // a multi-token group holds one step; decode steps all have one token
            int[] gl = new int[TYPES.length];
            for (int ti = 0; ti < TYPES.length; ti++) {
                int longest = 0;
                for (int b : g) {
                    longest = Math.max(longest, steps.get(b).slots(TYPES[ti]).contextLength());
                }
                gl[ti] = align(longest);
            }
            boolean images = gb == 1 && gq > 1 && steps.get(g[0]).images() != null
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
            bt.dims.add((long) flatStart[g[0]]);
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
                    int tbl = bt.section(gb * blocks); // padding: block 0, never read (the entry is masked)
                    int first = bt.section(gb);
                    int length = bt.section(gb);
                    for (int j = 0; j < gb; j++) {
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
                for (int j = 0; j < gb; j++) {
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
                for (int i = 0; i < gq; i++) {
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
