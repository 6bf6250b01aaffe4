package dev.gemmaflink.runtime.model;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import java.util.ArrayList;
import java.util.List;

/**
 * The integer index tensors of one {@link ForwardBatch}, in the argument order of the generated {@code forward}
 * (see {@link GemmaScript} for their meaning and shapes). Pure Java, so the padding rules are unit-testable.
 */
final class BatchTensors {

    private final List<long[][]> arrays = new ArrayList<>(); // each {data, shape}
    private final int[] firstRow;
    private final int[] rowCount;

    private BatchTensors(int sequences) {
        this.firstRow = new int[sequences];
        this.rowCount = new int[sequences];
    }

    static BatchTensors build(ForwardBatch batch, GemmaConfig cfg, KvStorage kv) {
        List<SequenceStep> steps = batch.steps();
        int nb = steps.size();
        int t = batch.totalTokens();
        int nq = steps.stream().mapToInt(SequenceStep::length).max().orElseThrow();
        BatchTensors bt = new BatchTensors(nb);
        long[] ids = new long[t];
        long[] pos = new long[t];
        long[] qidx = new long[nb * nq];
        long[] qpos = new long[nb * nq];
        long[] valid = new long[t];
        java.util.Arrays.fill(qpos, -1);
        List<Long> rows = new ArrayList<>();
        int flat = 0;
        for (int b = 0; b < nb; b++) {
            SequenceStep s = steps.get(b);
            bt.firstRow[b] = rows.size();
            for (int i = 0; i < s.length(); i++) {
                int tok = s.token(i);
                if (tok < 0 || tok >= cfg.vocabSize()) {
                    throw new IllegalArgumentException("token id " + tok + " of sequence " + b
                            + " is outside the vocabulary [0, " + cfg.vocabSize() + ")");
                }
                ids[flat] = tok;
                pos[flat] = (long) s.firstPosition() + i;
                qidx[b * nq + i] = flat;
                qpos[b * nq + i] = pos[flat];
                valid[flat] = (long) b * nq + i;
                if (s.allLogits() || i == s.length() - 1) {
                    rows.add((long) flat);
                }
                flat++;
            }
            bt.rowCount[b] = rows.size() - bt.firstRow[b];
        }
        bt.add(ids, t);
        bt.add(pos, t);
        bt.add(qidx, nb, nq);
        bt.add(qpos, nb, nq);
        bt.add(valid, t);
        for (LayerType type : new LayerType[] {LayerType.SLIDING_ATTENTION, LayerType.FULL_ATTENTION}) {
            int capacity = kv.slots(type);
            int nl = steps.stream().mapToInt(s -> s.slots(type).contextLength()).max().orElseThrow();
            long[] write = new long[t];
            long[] ctx = new long[nb * nl]; // padding: slot 0, masked by position -1
            long[] kpos = new long[nb * nl];
            java.util.Arrays.fill(kpos, -1);
            int f = 0;
            for (int b = 0; b < nb; b++) {
                CacheSlots c = steps.get(b).slots(type);
                if (c.maxSlot() >= capacity) {
                    throw new IllegalArgumentException("sequence " + b + " uses slot " + c.maxSlot() + " but the "
                            + type + " KV storage has " + capacity + " slots");
                }
                for (int i = 0; i < steps.get(b).length(); i++) {
                    write[f++] = c.writeSlot(i);
                }
                for (int j = 0; j < c.contextLength(); j++) {
                    ctx[b * nl + j] = c.contextSlot(j);
                    kpos[b * nl + j] = c.contextPosition(j);
                }
            }
            bt.add(write, t);
            bt.add(ctx, nb, nl);
            bt.add(kpos, nb, nl);
        }
        bt.add(rows.stream().mapToLong(Long::longValue).toArray(), rows.size());
        return bt;
    }

    private void add(long[] data, long... shape) {
        arrays.add(new long[][] {data, shape});
    }

    List<long[][]> arrays() {
        return arrays;
    }

    int[] firstRow() {
        return firstRow.clone();
    }

    int[] rowCount() {
        return rowCount.clone();
    }
}
