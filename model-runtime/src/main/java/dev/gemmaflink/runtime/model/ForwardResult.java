package dev.gemmaflink.runtime.model;

import java.util.Arrays;

/**
 * Float32 logits of one forward call: for each sequence of the batch, its last new token, or all its new tokens
 * when the step asked for {@link SequenceStep#allLogits()}.
 */
public final class ForwardResult {

    private final float[] data; // (rows, vocab)
    private final int vocab;
    private final int[] firstRow; // per sequence
    private final int[] rowCount; // per sequence

    ForwardResult(float[] data, int vocab, int[] firstRow, int[] rowCount) {
        this.data = data;
        this.vocab = vocab;
        this.firstRow = firstRow;
        this.rowCount = rowCount;
    }

    public int vocabSize() {
        return vocab;
    }

    public int sequences() {
        return firstRow.length;
    }

    /** Logits of the last new token of sequence {@code seq} (a copy). */
    public float[] lastLogits(int seq) {
        return row(seq, rowCount[checkSeq(seq)] - 1);
    }

    /** Number of logit rows of sequence {@code seq}. */
    public int rows(int seq) {
        return rowCount[checkSeq(seq)];
    }

    /** Logits of row {@code r} of sequence {@code seq} (rows are its new tokens when all were asked). */
    public float[] row(int seq, int r) {
        checkSeq(seq);
        if (r < 0 || r >= rowCount[seq]) {
            throw new IndexOutOfBoundsException("row " + r + " of sequence " + seq + " with " + rowCount[seq] + " rows");
        }
        int off = (firstRow[seq] + r) * vocab;
        return Arrays.copyOfRange(data, off, off + vocab);
    }

    private int checkSeq(int seq) {
        if (seq < 0 || seq >= firstRow.length) {
            throw new IndexOutOfBoundsException("sequence " + seq + " of " + firstRow.length);
        }
        return seq;
    }
}
