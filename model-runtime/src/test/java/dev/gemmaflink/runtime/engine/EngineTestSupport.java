package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.generate.Generator;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.LoadProgress;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.weights.DType;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * A tiny random Gemma 3 (6 layers: 5 sliding with window 8, 1 global; hidden 64; vocab 512) in float32, and the
 * single-sequence {@link Generator} as the reference the engine must match token for token.
 */
final class EngineTestSupport {

    static final int BLOCK_SIZE = 4;
    static final int WINDOW = 8;
    /** KV bytes per token per layer: 2 (K, V) * 2 kv heads * 16 dims * 4 bytes. */
    static final int TOKEN_LAYER_BYTES = 256;

    private EngineTestSupport() {
    }

    static TinyCheckpoint write(Path dir) {
        return TinyCheckpointWriter.write(dir, TinyCheckpointSpec.builder().layers(6).hidden(64).heads(4).kvHeads(2)
                .headDim(16).window(WINDOW).maxPositions(512).dtype(DType.BF16).seed(11).build());
    }

    static GemmaModel load(TinyCheckpoint ckpt) {
        return GemmaModel.load(ckpt.directory(),
                ModelOptions.builder().threads(1).precision(Precision.FLOAT32).build(), LoadProgress.NONE);
    }

    /**
     * KV budget for {@code sequences} sequences of {@code targetLen} tokens under the sizing rule of
     * {@code KvCacheSizing} (one full layer, five sliding layers, block size 4).
     */
    static long budgetFor(int sequences, int targetLen, int maxTokensPerStep) {
        long fullBlock = (long) BLOCK_SIZE * TOKEN_LAYER_BYTES;
        long slidingBlock = 5L * BLOCK_SIZE * TOKEN_LAYER_BYTES;
        long fixed = fullBlock + slidingBlock * (2 + ceil(maxTokensPerStep, BLOCK_SIZE));
        long perSequence = ceil(targetLen, BLOCK_SIZE) * fullBlock
                + Math.min(ceil(targetLen, BLOCK_SIZE), ceil(WINDOW, BLOCK_SIZE) + 1) * slidingBlock;
        return fixed + sequences * perSequence;
    }

    private static long ceil(long a, long b) {
        return (a + b - 1) / b;
    }

    /** The tests' engine settings: small blocks, steps of 16 tokens, a KV budget for eight 128-token sequences. */
    static EngineConfig.Builder config() {
        return EngineConfig.builder().blockSize(BLOCK_SIZE).targetSequenceLength(128).maxTokensPerStep(16)
                .kvCacheBytes(budgetFor(8, 128, 16)).modelId("tiny");
    }

    static GemmaEngineBuilder engine(GemmaModel model) {
        return engine(model, config());
    }

    static GemmaEngineBuilder engine(GemmaModel model, EngineConfig.Builder config) {
        return GemmaEngine.builder().model(model, null).config(config.build());
    }

    /**
     * A hook for {@link GemmaEngineBuilder#beforeIteration}: from its {@code holdFrom}-th call on (the first comes
     * after the engine's first step), it counts down {@code held} and waits for {@code release}, holding the engine
     * thread before it reads its inbox.
     */
    static java.util.function.Consumer<java.util.List<dev.gemmaflink.runtime.sched.ScheduledRequest>> holdFrom(
            int holdFrom, java.util.concurrent.CountDownLatch held, java.util.concurrent.CountDownLatch release) {
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        return running -> {
            if (calls.incrementAndGet() >= holdFrom) {
                held.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
    }

    static GenerationParams greedy(int maxNewTokens) {
        return GenerationParams.builder().temperature(0).maxNewTokens(maxNewTokens).stopIds().build();
    }

    static int[] prompt(int length, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[length];
        ids[0] = 2;
        for (int i = 1; i < length; i++) {
            ids[i] = 3 + r.nextInt(500);
        }
        return ids;
    }

    static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) {
            n += p.length;
        }
        int[] out = new int[n];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** The reference: tokens of a single-sequence generation, sampled by the Java {@code Sampler} from host logits. */
    static int[] reference(GemmaModel model, int[] prompt, GenerationParams params) {
        try (Generator g = new Generator(model, null, 0, Generator.DEFAULT_PREFILL_CHUNK,
                Generator.Sampling.HOST_REFERENCE)) {
            return g.generate(prompt, params, null).tokens();
        }
    }
}
