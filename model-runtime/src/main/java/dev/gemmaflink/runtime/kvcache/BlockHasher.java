package dev.gemmaflink.runtime.kvcache;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * Computes chained block hashes: {@code hash(block i) = SHA-256(parent, tokens of block i, extra keys of block i)}
 * truncated to 128 bits, where the parent of block 0 is a root hash over the model id and the cache salt.
 *
 * <p>Byte layout (all integers big-endian, strings as length-prefixed UTF-8), so that no two different inputs share
 * an encoding: root = {@code "gemmaflink.kv.v1" | modelId | saltFlag(0/1) [| salt]}; block =
 * {@code parent(16) | blockSize(4) | tokens(4 each) | numImages(4) | per image: start(4) numTokens(4) contentHash}.
 *
 * <p>Not thread-safe (reuses one digest); each {@link KvCacheManager} owns one.
 */
public final class BlockHasher {

    private static final byte[] DOMAIN = "gemmaflink.kv.v1".getBytes(StandardCharsets.UTF_8);

    private final int blockSize;
    private final MessageDigest digest;
    private final ByteBuffer scratch;

    /** @param blockSize tokens per block */
    public BlockHasher(int blockSize) {
        if (blockSize < 1) {
            throw new IllegalArgumentException("blockSize must be >= 1, got " + blockSize);
        }
        this.blockSize = blockSize;
        try {
            this.digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available in this JVM", e);
        }
        this.scratch = ByteBuffer.allocate(16 + 4 + 4 * blockSize + 4);
    }

    public int blockSize() {
        return blockSize;
    }

    /** The root of a sequence's hash chain: depends on model id and salt only. */
    public BlockHash root(CacheKeys keys) {
        digest.reset();
        digest.update(DOMAIN);
        putString(keys.modelId());
        if (keys.cacheSalt() == null) {
            digest.update((byte) 0);
        } else {
            digest.update((byte) 1);
            putString(keys.cacheSalt());
        }
        return finish();
    }

    /**
     * Hash of the full block that starts at token position {@code start}.
     *
     * @param parent hash of the previous block, or the {@link #root(CacheKeys) root} for block 0
     * @param tokens token ids of the sequence; positions [start, start + blockSize) are read
     * @param images the sequence's image spans; those overlapping the block are mixed in
     */
    public BlockHash hashBlock(BlockHash parent, int[] tokens, int start, List<ImageSpan> images) {
        if (start < 0 || start + blockSize > tokens.length) {
            throw new IllegalArgumentException("block [" + start + ", " + (start + blockSize)
                    + ") is not inside the " + tokens.length + " given tokens");
        }
        digest.reset();
        scratch.clear();
        scratch.putLong(parent.hi()).putLong(parent.lo()).putInt(blockSize);
        for (int i = start; i < start + blockSize; i++) {
            scratch.putInt(tokens[i]);
        }
        int overlapping = 0;
        for (ImageSpan image : images) {
            if (image.overlaps(start, start + blockSize)) {
                overlapping++;
            }
        }
        scratch.putInt(overlapping);
        digest.update(scratch.array(), 0, scratch.position());
        for (ImageSpan image : images) {
            if (image.overlaps(start, start + blockSize)) {
                putInt(image.start());
                putInt(image.length());
                putString(image.contentKey());
            }
        }
        return finish();
    }

    /**
     * Extends {@code sequence}'s hash list to cover every full block of its known tokens. Idempotent and incremental:
     * decode tokens that complete a block get their hash on the next call, which is what lets a later prompt that
     * starts with this prompt and its reply hit the cache.
     */
    void extend(Sequence sequence) {
        List<BlockHash> hashes = sequence.blockHashesMutable();
        int numFull = sequence.numTokens() / blockSize;
        if (hashes.size() >= numFull) {
            return;
        }
        int[] tokens = sequence.tokensView();
        BlockHash parent = hashes.isEmpty() ? root(sequence.cacheKeys()) : hashes.get(hashes.size() - 1);
        for (int b = hashes.size(); b < numFull; b++) {
            parent = hashBlock(parent, tokens, b * blockSize, sequence.cacheKeys().images());
            hashes.add(parent);
        }
    }

    private void putString(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        putInt(bytes.length);
        digest.update(bytes);
    }

    private void putInt(int v) {
        digest.update((byte) (v >>> 24));
        digest.update((byte) (v >>> 16));
        digest.update((byte) (v >>> 8));
        digest.update((byte) v);
    }

    private BlockHash finish() {
        ByteBuffer out = ByteBuffer.wrap(digest.digest());
        return new BlockHash(out.getLong(), out.getLong());
    }
}
