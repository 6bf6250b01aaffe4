package dev.gemmaflink.runtime.model;

/**
 * The counter-based noise of token sampling: one uniform double in [0, 1) per (request seed, token position),
 * computed the same way here (Java) and on the device ({@link DeviceSampler}, with int64 tensor ops), so the Java
 * {@code generate.Sampler} reference and the device sampler draw the very same number for a row.
 *
 * <p>Scheme (SplitMix64 used as a counter-based generator, the finaliser of {@link java.util.SplittableRandom}):
 * <pre>
 *   key(seed)            = mix64(seed)                                  once per request, on the host
 *   u(seed, position)    = (mix64(key + (position + 1) * GAMMA) >>> 11) * 2^-53
 *   mix64(z)             = z ^= z >>> 30; z *= 0xbf58476d1ce4e5b9; z ^= z >>> 27; z *= 0x94d049bb133111eb; z ^ z >>> 31
 * </pre>
 * All arithmetic is on 64-bit two's-complement integers (wrapping multiplication, logical right shifts). The seed is
 * mixed first so that requests whose seeds differ by a multiple of {@code GAMMA} do not draw shifted copies of one
 * stream. {@code position} is the absolute position the sampled token takes in its sequence (prompt length plus tokens
 * generated before it), so a replayed request (same seed, same prompt) draws the same numbers whatever it was batched
 * with, chunked into or preempted by; no random state lives anywhere.
 */
public final class SamplingNoise {

    /** The golden-ratio increment of SplitMix64. */
    static final long GAMMA = 0x9e3779b97f4a7c15L;
    static final long MIX1 = 0xbf58476d1ce4e5b9L;
    static final long MIX2 = 0x94d049bb133111ebL;
    /** 2^-53: a 53-bit integer times this is a double in [0, 1). */
    static final double UNIT = 0x1.0p-53;

    private SamplingNoise() {
    }

    /** The per-request stream key the device receives: {@code mix64(seed)}. */
    public static long key(long seed) {
        return mix64(seed);
    }

    /** The uniform double in [0, 1) of token {@code position} of the request seeded {@code seed}. */
    public static double uniform(long seed, long position) {
        return uniformOfKey(key(seed), position);
    }

    /** {@link #uniform} from a precomputed {@link #key}. */
    public static double uniformOfKey(long key, long position) {
        return (mix64(key + (position + 1) * GAMMA) >>> 11) * UNIT;
    }

    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * MIX1;
        z = (z ^ (z >>> 27)) * MIX2;
        return z ^ (z >>> 31);
    }
}
