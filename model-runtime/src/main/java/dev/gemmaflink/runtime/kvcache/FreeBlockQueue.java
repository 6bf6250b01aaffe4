package dev.gemmaflink.runtime.kvcache;

import java.util.ArrayList;
import java.util.List;

/**
 * Doubly linked list of free blocks threaded through the blocks themselves (no allocation per operation). The front
 * is the next block handed out; blocks are appended at the back when freed. Because cached blocks stay in this list
 * until reused, the order is also the LRU eviction order: the block freed longest ago is evicted first.
 */
final class FreeBlockQueue {

    private final KvBlock head = new KvBlock(-1, false);
    private final KvBlock tail = new KvBlock(-1, false);
    private int size;

    FreeBlockQueue() {
        head.next = tail;
        tail.prev = head;
    }

    int size() {
        return size;
    }

    /** Removes and returns the front block. */
    KvBlock popFront() {
        if (size == 0) {
            throw new IllegalStateException("no free KV blocks");
        }
        KvBlock block = head.next;
        remove(block);
        return block;
    }

    /** Unlinks a block from anywhere in the list: O(1). */
    void remove(KvBlock block) {
        if (block.prev == null || block.next == null) {
            throw new IllegalStateException("block " + block.id() + " is not in the free list");
        }
        block.prev.next = block.next;
        block.next.prev = block.prev;
        block.prev = null;
        block.next = null;
        size--;
    }

    /** Appends a block at the back (most recently freed). */
    void append(KvBlock block) {
        if (block.prev != null || block.next != null) {
            throw new IllegalStateException("block " + block.id() + " is already in the free list");
        }
        KvBlock last = tail.prev;
        last.next = block;
        block.prev = last;
        block.next = tail;
        tail.prev = block;
        size++;
    }

    /** Block ids from front (next evicted) to back; for tests and debugging. */
    List<Integer> ids() {
        List<Integer> ids = new ArrayList<>(size);
        for (KvBlock b = head.next; b != tail; b = b.next) {
            ids.add(b.id());
        }
        return ids;
    }
}
