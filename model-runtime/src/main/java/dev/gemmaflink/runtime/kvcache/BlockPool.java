package dev.gemmaflink.runtime.kvcache;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The only owner of one group's KV blocks: allocated once at start, never grown. Keeps reference counts, the free
 * list (which is also the LRU eviction order) and the hash → block map of the prefix cache.
 *
 * <p>Block 0 is the shared null block (see {@link KvBlock#isNull()}); blocks 1..numBlocks-1 are usable. A free block
 * may still be cached (it has a hash): a prefix hit {@link #touch touches} it back into use; an allocation that pops it
 * evicts it (drops the hash). Not thread-safe: the engine's scheduling thread owns it.
 */
public final class BlockPool {

    private final KvBlock[] blocks;
    private final FreeBlockQueue freeQueue = new FreeBlockQueue();
    private final Map<BlockHash, KvBlock> cached = new HashMap<>();
    private final KvBlock nullBlock;
    private final boolean cachingEnabled;
    private int cachedFreeBlocks;
    private long evictions;

    /**
     * @param numBlocks blocks in the pool including the null block (>= 2)
     * @param cachingEnabled whether full blocks are hashed and kept for reuse after they are freed
     */
    public BlockPool(int numBlocks, boolean cachingEnabled) {
        if (numBlocks < 2) {
            throw new IllegalArgumentException("a block pool needs >= 2 blocks (one is the null block), got " + numBlocks);
        }
        this.cachingEnabled = cachingEnabled;
        blocks = new KvBlock[numBlocks];
        nullBlock = new KvBlock(0, true);
        blocks[0] = nullBlock;
        for (int i = 1; i < numBlocks; i++) {
            blocks[i] = new KvBlock(i, false);
            freeQueue.append(blocks[i]);
        }
    }

    /** The shared placeholder block, id 0. */
    public KvBlock nullBlock() {
        return nullBlock;
    }

    /** Blocks in the pool, including the null block. */
    public int numBlocks() {
        return blocks.length;
    }

    /** Blocks that can ever be allocated: numBlocks - 1. */
    public int numUsableBlocks() {
        return blocks.length - 1;
    }

    /** Blocks that an allocation may take now (free, cached or not). */
    public int numFreeBlocks() {
        return freeQueue.size();
    }

    /** Free blocks that still hold a cached prefix (reusable by a hit until evicted). */
    public int numCachedFreeBlocks() {
        return cachedFreeBlocks;
    }

    /** Blocks held by at least one sequence. */
    public int numUsedBlocks() {
        return numUsableBlocks() - numFreeBlocks();
    }

    /** Cached blocks evicted by allocations since start. */
    public long evictions() {
        return evictions;
    }

    public boolean cachingEnabled() {
        return cachingEnabled;
    }

    /** The block with this id (for tests and the tensor side's debugging). */
    public KvBlock block(int id) {
        return blocks[id];
    }

    /** The cached block with this hash, or null when none (or caching is off). Does not change any state. */
    public KvBlock getCachedBlock(BlockHash hash) {
        return cached.get(hash);
    }

    /**
     * Marks blocks {@code [numCachedBlocks, numFullBlocks)} of a sequence as cached under the sequence's hashes.
     * Null blocks and blocks that already carry a hash (prefix hits) are skipped. When another block already caches
     * the same hash (two sequences computed the same prefix at once) this block stays uncached: it is a duplicate and
     * goes back to the free list as plain free space.
     *
     * @param sequenceBlocks the sequence's block table for this group
     * @param blockHashes the sequence's chained hashes, at least numFullBlocks long
     */
    public void cacheFullBlocks(List<KvBlock> sequenceBlocks, List<BlockHash> blockHashes, int numCachedBlocks,
            int numFullBlocks) {
        if (!cachingEnabled || numFullBlocks <= numCachedBlocks) {
            return;
        }
        if (numFullBlocks > sequenceBlocks.size() || numFullBlocks > blockHashes.size()) {
            throw new IllegalArgumentException("cannot cache " + numFullBlocks + " full blocks: the sequence holds "
                    + sequenceBlocks.size() + " blocks and " + blockHashes.size() + " hashes");
        }
        for (int i = numCachedBlocks; i < numFullBlocks; i++) {
            KvBlock block = sequenceBlocks.get(i);
            if (block.isNull() || block.hash() != null) {
                continue;
            }
            BlockHash hash = blockHashes.get(i);
            if (cached.putIfAbsent(hash, block) == null) {
                block.setHash(hash);
            }
        }
    }

    /**
     * Takes {@code n} blocks from the front of the free list (least recently freed first), evicting their cached
     * content, each with reference count 1.
     *
     * @throws IllegalStateException when fewer than n blocks are free (callers check {@link #numFreeBlocks()} first)
     */
    public List<KvBlock> allocate(int n) {
        if (n < 0 || n > freeQueue.size()) {
            throw new IllegalStateException("cannot allocate " + n + " KV blocks: " + freeQueue.size() + " free");
        }
        List<KvBlock> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            KvBlock block = freeQueue.popFront();
            if (block.hash() != null) {
                evict(block);
            }
            block.incrementRef();
            out.add(block);
        }
        return out;
    }

    /**
     * Adds a reference to each block (a prefix hit): a block with no holder leaves the free list and so is protected
     * from eviction. Null blocks are skipped.
     */
    public void touch(Collection<KvBlock> hitBlocks) {
        for (KvBlock block : hitBlocks) {
            if (block.isNull()) {
                continue;
            }
            if (block.refCount() == 0) {
                freeQueue.remove(block);
                if (block.hash() != null) {
                    cachedFreeBlocks--;
                }
            }
            block.incrementRef();
        }
    }

    /**
     * Drops one reference from each block, in the given order; blocks left without holders are appended to the free
     * list in that order, so pass a sequence's blocks tail first to have its tail evicted before its prefix. Null
     * blocks are skipped.
     */
    public void free(Iterable<KvBlock> orderedBlocks) {
        for (KvBlock block : orderedBlocks) {
            if (block.isNull()) {
                continue;
            }
            block.decrementRef();
            if (block.refCount() == 0) {
                freeQueue.append(block);
                if (block.hash() != null) {
                    cachedFreeBlocks++;
                }
            }
        }
    }

    /**
     * Like {@link #free(Iterable)}, but a block left without holders also leaves the prefix cache: for blocks whose
     * keys and values were never written (the forward step that should have computed them failed).
     */
    public void freeAndForget(Iterable<KvBlock> orderedBlocks) {
        for (KvBlock block : orderedBlocks) {
            if (block.isNull()) {
                continue;
            }
            block.decrementRef();
            if (block.refCount() == 0) {
                if (block.hash() != null) {
                    cached.remove(block.hash(), block);
                    block.clearHash();
                }
                freeQueue.append(block);
            }
        }
    }

    /** Free-list block ids from next-evicted to last-evicted; for tests and debugging. */
    public List<Integer> freeListIds() {
        return freeQueue.ids();
    }

    private void evict(KvBlock block) {
        cached.remove(block.hash(), block);
        block.clearHash();
        cachedFreeBlocks--;
        evictions++;
    }
}
