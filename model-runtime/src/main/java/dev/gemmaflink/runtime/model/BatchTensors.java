package dev.gemmaflink.runtime.model;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.kvcache.ChunkSlots;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The integer index tensors of one {@link ForwardBatch}, in the argument order of the generated {@code forward}
 * (see {@link GemmaScript} for their meaning and shapes). Pure Java, so the padding and grouping rules are testable
 * without the engine.
 *
 * <p>Attention groups: every single-token step (decode) joins one group; each multi-token step (prefill or a
 * prompt chunk) is a group of its own. Padding happens only within a group.
 */
final class BatchTensors {

    /** One argument: a single tensor, or a {@code List[Tensor]}; each tensor is {data, shape}. */
    record Arg(List<long[][]> tensors, boolean isList) {
    }

    private final List<Arg> args = new ArrayList<>();
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
        BatchTensors bt = new BatchTensors(nb);
        long[] ids = new long[t];
        long[] pos = new long[t];
        int[] flatStart = new int[nb];
        List<Long> rows = new ArrayList<>();
        List<Long> softIdx = new ArrayList<>();
        List<float[]> softParts = new ArrayList<>();
        int flat = 0;
        for (int b = 0; b < nb; b++) {
            SequenceStep s = steps.get(b);
            flatStart[b] = flat;
            bt.firstRow[b] = rows.size();
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
                int tok = s.token(i);
                if (im != null && softCursor < im.count() && im.tokenIndex(softCursor) == i) {
                    // Replaced after the embedding lookup; the image token id may lie outside the vocabulary.
                    softCursor++;
                    softIdx.add((long) flat);
                    tok = 0;
                } else if (tok < 0 || tok >= cfg.vocabSize()) {
                    throw new IllegalArgumentException("token id " + tok + " of sequence " + b
                            + " is outside the vocabulary [0, " + cfg.vocabSize() + ")");
                }
                ids[flat] = tok;
                pos[flat] = (long) s.firstPosition() + i;
                if (s.allLogits() || i == s.length() - 1) {
                    rows.add((long) flat);
                }
                flat++;
            }
            bt.rowCount[b] = rows.size() - bt.firstRow[b];
        }
        for (LayerType type : LayerType.values()) {
            for (int b = 0; b < nb; b++) {
                ChunkSlots c = steps.get(b).slots(type);
                if (c.maxSlot() >= kv.slots(type)) {
                    throw new IllegalArgumentException("sequence " + b + " uses slot " + c.maxSlot() + " but the "
                            + type + " KV storage has " + kv.slots(type) + " slots");
                }
            }
        }
        List<int[]> groups = groups(steps);
        List<long[][]> qidx = new ArrayList<>();
        List<long[][]> qpos = new ArrayList<>();
        List<long[][]> valid = new ArrayList<>();
        List<long[][]> qgrp = new ArrayList<>();
        long[] perm = new long[t];
        int concatenated = 0;
        for (int[] g : groups) {
            int gb = g.length;
            int gq = Arrays.stream(g).map(b -> steps.get(b).length()).max().orElseThrow();
            long[] qi = new long[gb * gq];
            long[] qp = new long[gb * gq];
            Arrays.fill(qp, -1);
            long[] qg = new long[gb * gq];
            Arrays.fill(qg, -1);
            List<Long> v = new ArrayList<>();
            for (int j = 0; j < gb; j++) {
                SequenceStep s = steps.get(g[j]);
                for (int i = 0; i < s.length(); i++) {
                    int f = flatStart[g[j]] + i;
                    qi[j * gq + i] = f;
                    qp[j * gq + i] = pos[f];
                    qg[j * gq + i] = spanOf(s, pos[f]);
                    v.add((long) j * gq + i);
                    perm[f] = concatenated++;
                }
            }
            qidx.add(tensor(qi, gb, gq));
            qpos.add(tensor(qp, gb, gq));
            qgrp.add(tensor(qg, gb, gq));
            valid.add(tensor(v.stream().mapToLong(Long::longValue).toArray(), v.size()));
        }
        bt.single(ids, t);
        bt.single(pos, t);
        bt.list(qidx);
        bt.list(qpos);
        bt.list(valid);
        bt.single(perm, t);
        List<List<long[][]>> kgrps = new ArrayList<>();
        for (LayerType type : new LayerType[] {LayerType.SLIDING_ATTENTION, LayerType.FULL_ATTENTION}) {
            List<long[][]> kgrp = new ArrayList<>();
            kgrps.add(kgrp);
            long[] write = new long[t];
            for (int b = 0; b < nb; b++) {
                ChunkSlots c = steps.get(b).slots(type);
                for (int i = 0; i < steps.get(b).length(); i++) {
                    write[flatStart[b] + i] = c.writeSlot(i);
                }
            }
            List<long[][]> ctx = new ArrayList<>();
            List<long[][]> kpos = new ArrayList<>();
            for (int[] g : groups) {
                int gl = Arrays.stream(g).map(b -> steps.get(b).slots(type).contextLength()).max().orElseThrow();
                long[] cs = new long[g.length * gl]; // padding: slot 0, masked by position -1
                long[] kp = new long[g.length * gl];
                Arrays.fill(kp, -1);
                long[] kg = new long[g.length * gl];
                Arrays.fill(kg, -1);
                for (int j = 0; j < g.length; j++) {
                    ChunkSlots c = steps.get(g[j]).slots(type);
                    for (int i = 0; i < c.contextLength(); i++) {
                        cs[j * gl + i] = c.contextSlot(i);
                        kp[j * gl + i] = c.contextPosition(i);
                        kg[j * gl + i] = spanOf(steps.get(g[j]), kp[j * gl + i]);
                    }
                }
                ctx.add(tensor(cs, g.length, gl));
                kpos.add(tensor(kp, g.length, gl));
                kgrp.add(tensor(kg, g.length, gl));
            }
            bt.single(write, t);
            bt.list(ctx);
            bt.list(kpos);
        }
        bt.single(rows.stream().mapToLong(Long::longValue).toArray(), rows.size());
        // Image inputs: flat indices of soft tokens, and per attention group the image span of each query and key
        // (-1: text or padding); the mask lets a query see every key of its own span.
        bt.single(softIdx.stream().mapToLong(Long::longValue).toArray(), softIdx.size());
        bt.list(qgrp);
        bt.list(kgrps.get(0));
        bt.list(kgrps.get(1));
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

    /** Image span of absolute position {@code p} within step {@code s}'s images, or -1 (text, padding, no images). */
    private static long spanOf(SequenceStep s, long p) {
        StepImages im = s.images();
        return im == null || p < 0 ? -1 : im.spanOf(p);
    }

    /** Soft-token embeddings (softRows x hidden), in the order of the soft-token index argument. */
    float[] soft() {
        return soft;
    }

    int softRows() {
        return softRows;
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

    private static long[][] tensor(long[] data, long... shape) {
        return new long[][] {data, shape};
    }

    private void single(long[] data, long... shape) {
        args.add(new Arg(java.util.Collections.singletonList(tensor(data, shape)), false));
    }

    private void list(List<long[][]> tensors) {
        args.add(new Arg(List.copyOf(tensors), true));
    }

    List<Arg> args() {
        return args;
    }

    int[] firstRow() {
        return firstRow.clone();
    }

    int[] rowCount() {
        return rowCount.clone();
    }
}
