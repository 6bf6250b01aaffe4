package dev.gemmaflink.runtime.generate;

import dev.gemmaflink.runtime.constrain.ConstraintCompiler;
import dev.gemmaflink.runtime.constrain.ConstraintCursor;
import dev.gemmaflink.runtime.kvcache.ImageSpans;
import dev.gemmaflink.runtime.model.ForwardBatch;
import dev.gemmaflink.runtime.model.ForwardResult;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.KvStorage;
import dev.gemmaflink.runtime.model.PromptImages;
import dev.gemmaflink.runtime.model.SequenceCache;
import dev.gemmaflink.runtime.model.SampleRow;
import dev.gemmaflink.runtime.model.SampledTokens;
import dev.gemmaflink.runtime.model.SequenceStep;
import dev.gemmaflink.runtime.model.TokenMask;
import dev.gemmaflink.runtime.tokenizer.ChatFormat;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import dev.gemmaflink.runtime.tokenizer.StreamingDetokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.OptionalDouble;

/**
 * Single-sequence text generation: the whole prompt in one prefill pass, then one decode step per token against
 * the KV cache, sampling with the request's {@link GenerationParams} and reporting each token to a
 * {@link TokenListener}. Tokens are sampled on the device by default ({@link Sampling#DEVICE}: no logits reach the
 * host); {@link Sampling#HOST_REFERENCE} copies the logits and runs the Java {@link Sampler}, the reference that
 * tests hold the device sampler and the engine to.
 *
 * <p>The generator owns one {@link KvStorage}, reused across requests and grown when a request needs more slots
 * (up to the context limit), so repeated generations allocate no new native memory. One request at a time per
 * generator (calls are synchronized); use one generator per thread for parallel single-sequence work.
 *
 * <p>A request with a {@link dev.gemmaflink.runtime.constrain.Constraint} ({@link GenerationParams#constraint()})
 * samples under its token masks ({@link TokenMask}s over the model's vocabulary, attached to the sample row as the
 * engine does, and applied by the Java reference the same way in {@link Sampling#HOST_REFERENCE}), computed on the
 * calling thread and cached by this generator's {@link ConstraintCompiler} (built on first use; needs the
 * tokenizer).
 *
 * <pre>{@code
 * try (GemmaModel model = GemmaModel.load(dir, ModelOptions.defaults(), LoadProgress.NONE);
 *      GemmaTokenizer tok = GemmaTokenizer.load(dir);
 *      Generator gen = new Generator(model, tok, 0)) {
 *     GenerationResult r = gen.generate("Why is the sky blue?", true,
 *             GenerationParams.builder().seed(1).build(), (id, text) -> System.out.print(text));
 * }
 * }</pre>
 */
public final class Generator implements AutoCloseable {

    private static final int MIN_SLOTS = 256;

    /**
     * Default prefill chunk: prompts up to this length run as one pass; longer ones in chunks of it, which bounds
     * the attention mask and score memory of one call (they grow with chunk length times context length).
     */
    public static final int DEFAULT_PREFILL_CHUNK = 512;

    /** Where the next token is chosen. */
    public enum Sampling {
        /** On the device, right after the forward pass; only token ids come back (serving). */
        DEVICE,
        /** On the host by the Java {@link Sampler} from copied logits: the reference for tests. */
        HOST_REFERENCE
    }

    private final GemmaModel model;
    private final GemmaTokenizer tokenizer; // may be null: ids in, ids out
    private final int contextLimit;
    private final int prefillChunk;
    private final Sampling sampling;
    private KvStorage kv;
    private ConstraintCompiler constraints; // built on the first constrained request
    private double lastLogprob; // of the token the last sampling step chose (NaN unless its row asked)

    /**
     * @param model        the loaded model (not closed by this generator)
     * @param tokenizer    tokenizer for text prompts and streamed text; null for id-only use
     * @param contextLimit the most tokens a sequence may hold (prompt plus generated); 0 or anything above the
     *                     model's {@code max_position_embeddings} means that value
     */
    public Generator(GemmaModel model, GemmaTokenizer tokenizer, int contextLimit) {
        this(model, tokenizer, contextLimit, DEFAULT_PREFILL_CHUNK);
    }

    /**
     * @param prefillChunk most prompt tokens per prefill call (>= 1)
     * @see #Generator(GemmaModel, GemmaTokenizer, int)
     */
    public Generator(GemmaModel model, GemmaTokenizer tokenizer, int contextLimit, int prefillChunk) {
        this(model, tokenizer, contextLimit, prefillChunk, Sampling.DEVICE);
    }

    /**
     * @param sampling where tokens are chosen; both give the same tokens (see {@link Sampler})
     * @see #Generator(GemmaModel, GemmaTokenizer, int, int)
     */
    public Generator(GemmaModel model, GemmaTokenizer tokenizer, int contextLimit, int prefillChunk,
            Sampling sampling) {
        this.sampling = Objects.requireNonNull(sampling, "sampling");
        if (prefillChunk < 1) {
            throw new IllegalArgumentException("prefillChunk must be >= 1, got " + prefillChunk);
        }
        this.prefillChunk = prefillChunk;
        this.model = Objects.requireNonNull(model, "model");
        this.tokenizer = tokenizer;
        if (contextLimit < 0) {
            throw new IllegalArgumentException("contextLimit must be >= 0 (0 = the model's maximum), got " + contextLimit);
        }
        int max = model.config().maxPositionEmbeddings();
        this.contextLimit = contextLimit == 0 ? max : Math.min(contextLimit, max);
    }

    /** The most tokens (prompt plus generated) one sequence may hold. */
    public int contextLimit() {
        return contextLimit;
    }

    /**
     * Tokenizes {@code prompt} (with BOS; as one user turn when {@code chat}) and generates.
     *
     * @throws IllegalStateException when this generator has no tokenizer
     */
    public GenerationResult generate(String prompt, boolean chat, GenerationParams params, TokenListener listener) {
        if (tokenizer == null) {
            throw new IllegalStateException("this generator has no tokenizer: pass token ids");
        }
        Objects.requireNonNull(prompt, "prompt");
        String text = chat ? ChatFormat.prompt(prompt) : prompt;
        return generate(tokenizer.encode(text, true), params, listener);
    }

    /**
     * Generates from prompt token ids (BOS included by the caller).
     *
     * @throws IllegalArgumentException when the prompt is empty or does not leave room for one new token within
     *                                  the context limit (checked before any computation)
     */
    public synchronized GenerationResult generate(int[] promptIds, GenerationParams params, TokenListener listener) {
        return generate(promptIds, null, params, listener);
    }

    /**
     * Generates from prompt token ids with image inputs (Gemma 3 multimodal): the soft tokens replace the embeddings
     * at their positions and prefill chunks are moved so that no image is split (a chunk may grow to hold one).
     *
     * @param images soft-token embeddings and spans (see {@code vision.ImagePrompt}), or null for text only
     * @see #generate(int[], GenerationParams, TokenListener)
     */
    public synchronized GenerationResult generate(int[] promptIds, PromptImages images, GenerationParams params,
            TokenListener listener) {
        Objects.requireNonNull(params, "params");
        TokenListener out = listener == null ? TokenListener.NONE : listener;
        if (promptIds == null || promptIds.length == 0) {
            throw new IllegalArgumentException("prompt is empty: at least one token (BOS) is required");
        }
        if (promptIds.length >= contextLimit) {
            throw new IllegalArgumentException("prompt has " + promptIds.length + " tokens but the context limit is "
                    + contextLimit + " tokens (prompt plus generated); shorten the prompt");
        }
        ConstraintCursor constraint = null;
        if (params.constraint().isPresent()) {
            if (tokenizer == null) {
                throw new IllegalStateException("a constrained generation needs a tokenizer: this generator has none");
            }
            if (constraints == null) {
                constraints = ConstraintCompiler.forTokenizer(tokenizer, model.config().vocabSize(), Runnable::run);
            }
            constraint = constraints.compile(params.constraint().get(), params.stopIds()).start();
        }
        long start = System.nanoTime();
        int capacity = Math.min(contextLimit, promptIds.length + params.maxNewTokens());
        KvStorage storage = storageFor(capacity);
        SequenceCache cache = new SequenceCache(model.config(), 0, capacity);
        StreamingDetokenizer detok = tokenizer == null ? null : tokenizer.streamingDetokenizer(true);
        StringBuilder text = new StringBuilder();
        int[] generated = new int[Math.min(params.maxNewTokens(), capacity - promptIds.length)];
        int count = 0;
        long ttft = 0;
        FinishReason reason = null;
        int next = -1;
        double logprob = 0; // summed over sampled tokens when params.outputLogprob()
        for (int from = 0; from < promptIds.length; ) {
            int to = Math.min(promptIds.length, from + prefillChunk);
            if (images != null) {
                to = ImageSpans.chunkEnd(images.spans(), from, to);
            }
            SequenceStep step = cache.append(Arrays.copyOfRange(promptIds, from, to), false);
            if (images != null) {
                step = step.withImages(images.slice(from, to));
            }
            boolean last = to == promptIds.length;
            next = step(step, params, last, promptIds.length, last ? maskOf(constraint) : null, storage);
            from = to;
        }
        if (params.outputLogprob()) {
            logprob += lastLogprob;
        }
        while (reason == null) {
            if (count == 0) {
                ttft = System.nanoTime() - start;
            }
            if (params.isStop(next)) {
                reason = FinishReason.STOP;
                break;
            }
            generated[count++] = next;
            if (constraint != null) {
                constraint.advance(next);
            }
            String delta = "";
            if (detok != null) {
                delta = detok.accept(next);
                text.append(delta);
            }
            out.onToken(next, delta);
            if (constraint != null && constraint.isClosed()) {
                reason = FinishReason.STOP;
            } else if (count >= params.maxNewTokens()) {
                reason = FinishReason.LENGTH;
            } else if (promptIds.length + count >= contextLimit) {
                reason = FinishReason.CONTEXT_LIMIT;
            } else {
                next = step(cache.append(new int[] {next}, false), params, true, promptIds.length + count,
                        maskOf(constraint), storage);
                logprob += params.outputLogprob() ? lastLogprob : 0;
            }
        }
        if (detok != null && detok.hasPending()) {
            String tail = detok.flush();
            text.append(tail);
        }
        boolean incomplete = constraint != null && reason != FinishReason.STOP && !constraint.isAccepting();
        return new GenerationResult(Arrays.copyOf(generated, count), text.toString(), reason, promptIds.length, ttft,
                System.nanoTime() - start, incomplete,
                params.outputLogprob() ? OptionalDouble.of(logprob) : OptionalDouble.empty());
    }

    /** The tokens a constrained generation may take next, null for free generation. */
    private static TokenMask maskOf(ConstraintCursor constraint) {
        return constraint == null ? null : constraint.mask();
    }

    /**
     * Runs one step; when {@code sample}, returns the token chosen from its last logits for sequence position
     * {@code position} among those {@code mask} allows (null: all), else -1.
     */
    private int step(SequenceStep step, GenerationParams params, boolean sample, int position, TokenMask mask,
            KvStorage storage) {
        SampleRow row = Sampler.row(0, params, position, mask);
        if (sampling == Sampling.HOST_REFERENCE) {
            ForwardResult logits = model.forward(ForwardBatch.of(step), storage);
            if (!sample) {
                return -1;
            }
            int token = Sampler.sample(logits.lastLogits(0), row);
            lastLogprob = row.logprob() ? Sampler.logprob(logits.lastLogits(0), row, token) : Double.NaN;
            return token;
        }
        SampledTokens t = model.forwardSample(ForwardBatch.of(step), storage, sample ? List.of(row) : List.of());
        if (!sample) {
            return -1;
        }
        lastLogprob = t.logprob(0);
        return t.token(0);
    }

    /** The reusable storage, grown (power of two, at most the context limit) when a request needs more. */
    private KvStorage storageFor(int slots) {
        if (kv == null || kv.slots(dev.gemmaflink.runtime.config.LayerType.FULL_ATTENTION) < slots) {
            if (kv != null) {
                kv.close();
                kv = null;
            }
            int size = Math.max(MIN_SLOTS, Integer.highestOneBit(Math.max(1, slots - 1)) << 1);
            size = Math.min(size, Math.max(slots, contextLimit));
            kv = model.allocateKv(size, size);
        }
        return kv;
    }

    /** Frees the KV storage; the model stays open. */
    @Override
    public synchronized void close() {
        if (kv != null) {
            kv.close();
            kv = null;
        }
    }
}
