package dev.gemmaflink.runtime.kvcache;

/**
 * The content hash of one full block: the first 128 bits of a SHA-256 over the parent block's hash, the block's token
 * ids and its extra keys (see {@link BlockHasher}). Chaining makes a hash identify the whole prefix up to and including
 * its block; 128 bits make an accidental collision (which would serve one prompt another prompt's keys and values)
 * negligible: about 2^-64 at 2^32 distinct blocks.
 *
 * @param hi bits 0..63 of the digest (big-endian)
 * @param lo bits 64..127 of the digest
 */
public record BlockHash(long hi, long lo) {

    @Override
    public String toString() {
        return String.format("%016x%016x", hi, lo);
    }
}
