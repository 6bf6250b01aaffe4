package dev.gemmaflink.runtime.generate;

import dev.gemmaflink.runtime.constrain.Constraint;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Sampling and stopping settings of one generation. Immutable; build with {@link #builder()}.
 * Defaults follow the Gemma 3 generation config: temperature 1.0, top-k 64, top-p 0.95, stop on {@code <eos>} (1)
 * and {@code <end_of_turn>} (106), at most 256 new tokens.
 *
 * <pre>{@code
 * GenerationParams greedy = GenerationParams.builder().temperature(0).maxNewTokens(32).build();
 * GenerationParams seeded = GenerationParams.builder().seed(42).topK(40).topP(0.9).build();
 * GenerationParams label = GenerationParams.builder().constraint(Constraint.choice(List.of("spam", "ham"))).build();
 * }</pre>
 *
 * <p>A {@link Constraint} restricts sampling to the tokens that keep the output a prefix of a match (the mask is
 * applied to the logits before temperature, top-k and top-p), allows the stop ids only where the output is a
 * complete match, and ends generation by itself where nothing may follow.
 */
public final class GenerationParams {

    /** Default stop ids: {@code <eos>} and {@code <end_of_turn>}. */
    private static final int[] DEFAULT_STOP_IDS = {1, 106};

    private final int maxNewTokens;
    private final double temperature;
    private final int topK;
    private final double topP;
    private final long seed;
    private final int[] stopIds;
    private final Constraint constraint; // null: free generation
    private final boolean outputLogprob;

    private GenerationParams(Builder b, long seed) {
        this.maxNewTokens = b.maxNewTokens;
        this.temperature = b.temperature;
        this.topK = b.topK;
        this.topP = b.topP;
        this.seed = seed;
        this.stopIds = b.stopIds.clone();
        this.constraint = b.constraint;
        this.outputLogprob = b.outputLogprob;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Defaults with a random seed. */
    public static GenerationParams defaults() {
        return builder().build();
    }

    public int maxNewTokens() {
        return maxNewTokens;
    }

    /** 0 means greedy (argmax). */
    public double temperature() {
        return temperature;
    }

    /** 0 means no top-k cut. */
    public int topK() {
        return topK;
    }

    /** 1.0 means no nucleus cut. */
    public double topP() {
        return topP;
    }

    /** The seed of this request's random stream (drawn at build time when none was set). */
    public long seed() {
        return seed;
    }

    public int[] stopIds() {
        return stopIds.clone();
    }

    /** Whether {@code tokenId} ends generation. */
    public boolean isStop(int tokenId) {
        for (int s : stopIds) {
            if (s == tokenId) {
                return true;
            }
        }
        return false;
    }

    public boolean greedy() {
        return temperature == 0.0;
    }

    /** What the output must be, empty for free generation. */
    public Optional<Constraint> constraint() {
        return Optional.ofNullable(constraint);
    }

    /**
     * Whether the result carries the log-probability of the output: the sum, over every token sampled (the stop id
     * that ended the output included; none for an output its constraint closed by itself), of the natural log of the
     * token's softmax probability at temperature 1 over the tokens the constraint allowed at that step (all tokens
     * without a constraint). Temperature, top-k and top-p do not enter: it is the model's probability of the output
     * under the constraint, which for greedy decoding is the distribution each argmax was taken from. Each term is
     * computed on the device with the token, in float32 ({@code logit - logsumexp(allowed logits)}), and summed in
     * float64; it costs one more reduction over the logit row and no extra bytes copied, and only generations that
     * ask pay for it.
     */
    public boolean outputLogprob() {
        return outputLogprob;
    }

    @Override
    public String toString() {
        return "GenerationParams[maxNewTokens=" + maxNewTokens + ", temperature=" + temperature + ", topK=" + topK
                + ", topP=" + topP + ", seed=" + seed + ", stopIds=" + Arrays.toString(stopIds)
                + (constraint == null ? "" : ", constraint=" + constraint)
                + (outputLogprob ? ", outputLogprob" : "") + "]";
    }

    /** Builder; every setter is optional and validated in {@link #build()}. */
    public static final class Builder {
        private int maxNewTokens = 256;
        private double temperature = 1.0;
        private int topK = 64;
        private double topP = 0.95;
        private Long seed;
        private int[] stopIds = DEFAULT_STOP_IDS.clone();
        private Constraint constraint;
        private boolean outputLogprob;

        private Builder() {
        }

        /**
         * Whether the result carries the output's log-probability (default false; see
         * {@link GenerationParams#outputLogprob()}).
         */
        public Builder outputLogprob(boolean value) {
            this.outputLogprob = value;
            return this;
        }

        /**
         * What the output must be (null: free generation, the default). Needs a tokenizer where the generation
         * runs: the engine or generator maps the constraint onto its vocabulary.
         */
        public Builder constraint(Constraint c) {
            this.constraint = c;
            return this;
        }

        /** At least 1. */
        public Builder maxNewTokens(int n) {
            this.maxNewTokens = n;
            return this;
        }

        /** 0 for greedy; otherwise a finite positive divisor of the logits. */
        public Builder temperature(double t) {
            this.temperature = t;
            return this;
        }

        /** 0 disables; otherwise keep the k most likely tokens. */
        public Builder topK(int k) {
            this.topK = k;
            return this;
        }

        /** In (0, 1]; keep the smallest set of most likely tokens whose probability reaches p. */
        public Builder topP(double p) {
            this.topP = p;
            return this;
        }

        /** Seed of the request's random stream: the same seed and prompt give the same tokens. */
        public Builder seed(long s) {
            this.seed = s;
            return this;
        }

        /** Token ids that end generation (may be empty). */
        public Builder stopIds(int... ids) {
            if (ids == null) {
                throw new IllegalArgumentException("stopIds must not be null (pass none for no stop ids)");
            }
            this.stopIds = ids.clone();
            return this;
        }

        public GenerationParams build() {
            if (maxNewTokens < 1) {
                throw new IllegalArgumentException("maxNewTokens must be at least 1, got " + maxNewTokens);
            }
            if (!Double.isFinite(temperature) || temperature < 0) {
                throw new IllegalArgumentException("temperature must be finite and >= 0 (0 = greedy), got " + temperature);
            }
            if (topK < 0) {
                throw new IllegalArgumentException("topK must be >= 0 (0 = off), got " + topK);
            }
            if (!(topP > 0 && topP <= 1)) {
                throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
            }
            for (int id : stopIds) {
                if (id < 0) {
                    throw new IllegalArgumentException("stop id must be >= 0, got " + id);
                }
            }
            long s = seed != null ? seed : ThreadLocalRandom.current().nextLong();
            return new GenerationParams(this, s);
        }
    }
}
