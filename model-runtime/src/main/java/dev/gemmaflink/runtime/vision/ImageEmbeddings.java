package dev.gemmaflink.runtime.vision;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Soft-token embeddings of a batch of encoder inputs: a native float32 tensor {@code (N, M, E)} (N inputs, M soft
 * tokens per image, E text hidden size) on the encoder's device, with the content hash and view index of each input.
 *
 * <p>The tensor stays native: the text model takes {@link #tensor()} as an argument without a copy through Java.
 * Close it when done (it frees the native tensor); a cache may keep it open for as long as it holds it.
 */
public final class ImageEmbeddings implements AutoCloseable {
    private final ImageEncoder owner;
    private final IValue tensor; // (N, M, E) float32
    private final List<String> hashes;
    private final List<Integer> views;
    private final int tokensPerImage;
    private final int hidden;
    private volatile boolean closed;

    ImageEmbeddings(ImageEncoder owner, IValue tensor, List<String> hashes, List<Integer> views, int tokensPerImage,
            int hidden) {
        this.owner = owner;
        this.tensor = tensor;
        this.hashes = List.copyOf(hashes);
        this.views = List.copyOf(views);
        this.tokensPerImage = tokensPerImage;
        this.hidden = hidden;
    }

    /** @return number of encoded inputs N */
    public int count() {
        return hashes.size();
    }

    /** @return soft tokens per input M */
    public int tokensPerImage() {
        return tokensPerImage;
    }

    /** @return text hidden size E */
    public int hidden() {
        return hidden;
    }

    /** @return SHA-256 (hex) of the original bytes of input {@code i} */
    public String contentHash(int i) {
        return hashes.get(i);
    }

    /** @return 0 when input {@code i} is a whole image, k for its k-th Pan &amp; Scan crop */
    public int view(int i) {
        return views.get(i);
    }

    /**
     * The native tensor {@code (N, M, E)} float32, owned by this object: do not close it, and do not use it after
     * {@link #close()}.
     */
    public IValue tensor() {
        checkOpen();
        return tensor;
    }

    /** @return a Java copy of the embeddings, row-major {@code (N, M, E)} */
    public float[] toFloatArray() {
        checkOpen();
        try (PtNDManager sub = owner.newSubManager()) {
            PtNDArray a = tensor.toTensor(sub);
            return a.toFloatArray();
        }
    }

    /** @return a Java copy of each input's embeddings, row-major {@code (M, E)}, in input order */
    public List<float[]> toFloatArrays() {
        float[] all = toFloatArray();
        int per = tokensPerImage * hidden;
        List<float[]> out = new ArrayList<>(count());
        for (int i = 0; i < count(); i++) {
            out.add(Arrays.copyOfRange(all, i * per, (i + 1) * per));
        }
        return out;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("image embeddings are closed");
        }
    }

    /** Frees the native tensor. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            tensor.close();
        }
    }
}
