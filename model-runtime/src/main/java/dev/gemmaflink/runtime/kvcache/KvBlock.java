package dev.gemmaflink.runtime.kvcache;

/**
 * One KV block: {@code blockSize} token slots in every layer of its group, addressed by {@link #id()}.
 *
 * <p>Only {@link BlockPool} changes a block. The reference count is the number of sequences whose block table holds
 * the block; the hash is set once, when the block is full and cached, and cleared only when the pool evicts it for
 * reuse. {@code prev}/{@code next} link the block into the pool's free list while its reference count is 0, so
 * taking a block out of the middle of that list (a prefix-cache hit) is O(1).
 */
public final class KvBlock {

    private final int id;
    private final boolean nullBlock;
    private int refCount;
    private BlockHash hash;
    KvBlock prev;
    KvBlock next;

    KvBlock(int id, boolean nullBlock) {
        this.id = id;
        this.nullBlock = nullBlock;
    }

    /** Block id: index into the group's KV tensors, 0 .. numBlocks-1. */
    public int id() {
        return id;
    }

    /** Number of sequences holding this block. */
    public int refCount() {
        return refCount;
    }

    /** The block's content hash when it is full and cached, else null. */
    public BlockHash hash() {
        return hash;
    }

    /**
     * True for the pool's shared placeholder (id 0): it stands in block tables for sliding-window blocks that slid
     * out of the window and is never allocated, freed or cached. Its slots hold garbage that attention masks out.
     */
    public boolean isNull() {
        return nullBlock;
    }

    void incrementRef() {
        refCount++;
    }

    void decrementRef() {
        if (refCount == 0) {
            throw new IllegalStateException("block " + id + " freed more often than allocated (ref count would be -1)");
        }
        refCount--;
    }

    void setHash(BlockHash newHash) {
        if (hash != null) {
            throw new IllegalStateException("block " + id + " already has hash " + hash);
        }
        hash = newHash;
    }

    void clearHash() {
        hash = null;
    }

    @Override
    public String toString() {
        return "KvBlock{id=" + id + ", ref=" + refCount + (hash == null ? "" : ", hash=" + hash) + "}";
    }
}
