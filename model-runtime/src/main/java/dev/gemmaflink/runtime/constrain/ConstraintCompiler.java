package dev.gemmaflink.runtime.constrain;

import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Compiles {@link Constraint}s for one vocabulary and keeps the results: a constraint is compiled once per distinct
 * {@link Constraint#key()} and set of end ids, and shared by every request that carries it (least recently used
 * ones beyond {@link #DEFAULT_CAPACITY} are dropped). Holds the vocabulary's {@link TokenTrie}, built once.
 * Thread-safe.
 *
 * <pre>{@code
 * ConstraintCompiler compiler = ConstraintCompiler.forTokenizer(tokenizer, model.config().vocabSize(), maskExecutor);
 * ConstraintCursor cursor = compiler.compile(Constraint.choice(List.of("yes", "no")), tokenizer.stopIds()).start();
 * SampleRow row = Sampler.row(0, params, position).withMask(cursor.mask());
 * int token = model.forwardSample(batch, kv, List.of(row)).token(0);
 * cursor.advance(token);
 * }</pre>
 */
public final class ConstraintCompiler {

    /** Compiled constraints kept. */
    public static final int DEFAULT_CAPACITY = 128;

    private final TokenVocabulary vocab;
    private final int maskVocab;
    private final TokenTrie trie;
    private final Executor maskExecutor;
    private final long trieNanos;
    private final Map<String, CompiledConstraint> cache;

    /** A compiler whose masks are over the vocabulary itself ({@code vocab.size()} ids). */
    public ConstraintCompiler(TokenVocabulary vocab, Executor maskExecutor, int capacity) {
        this(vocab, vocab.size(), maskExecutor, capacity);
    }

    /**
     * @param vocab the vocabulary
     * @param maskVocab the width of the masks: the model's vocabulary (its logit row), which may be longer than the
     *                  tokenizer's (ids past the tokenizer are never allowed) or shorter (ids past it are dropped)
     * @param maskExecutor where masks are computed ({@code Runnable::run} for the calling thread)
     * @param capacity compiled constraints kept
     */
    public ConstraintCompiler(TokenVocabulary vocab, int maskVocab, Executor maskExecutor, int capacity) {
        this.vocab = Objects.requireNonNull(vocab, "vocab");
        if (maskVocab < 1) {
            throw new IllegalArgumentException("maskVocab must be >= 1, got " + maskVocab);
        }
        this.maskVocab = maskVocab;
        this.maskExecutor = Objects.requireNonNull(maskExecutor, "maskExecutor");
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        }
        long t0 = System.nanoTime();
        this.trie = TokenTrie.build(vocab);
        this.trieNanos = System.nanoTime() - t0;
        this.cache = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, CompiledConstraint> eldest) {
                return size() > capacity;
            }
        };
    }

    /**
     * A compiler over a tokenizer's vocabulary keeping {@link #DEFAULT_CAPACITY} constraints, with masks over
     * {@code maskVocab} ids (the model's vocabulary, as the device sampler takes them).
     */
    public static ConstraintCompiler forTokenizer(GemmaTokenizer tokenizer, int maskVocab, Executor maskExecutor) {
        return new ConstraintCompiler(TokenVocabulary.of(tokenizer), maskVocab, maskExecutor, DEFAULT_CAPACITY);
    }

    /** {@link #forTokenizer(GemmaTokenizer, int, Executor)} with masks over the tokenizer's own vocabulary. */
    public static ConstraintCompiler forTokenizer(GemmaTokenizer tokenizer, Executor maskExecutor) {
        return forTokenizer(tokenizer, tokenizer.vocabSize(), maskExecutor);
    }

    /**
     * @param constraint what the output must be
     * @param endIds the ids that may end the output (the request's stop ids), allowed only in accepting states
     * @return the shared compiled form
     * @throws ConstraintException when the automaton is too large, or no token can start a match
     */
    public CompiledConstraint compile(Constraint constraint, int[] endIds) {
        int[] ends = Arrays.stream(endIds).distinct().sorted().toArray();
        String key = Arrays.toString(ends) + "|" + constraint.key();
        synchronized (cache) {
            CompiledConstraint c = cache.get(key);
            if (c != null) {
                return c;
            }
        }
        long t0 = System.nanoTime();
        ByteDfa dfa = constraint.automaton();
        CompiledConstraint compiled = new CompiledConstraint(constraint, dfa, vocab, maskVocab, trie, ends, maskExecutor,
                System.nanoTime() - t0);
        synchronized (cache) {
            CompiledConstraint raced = cache.putIfAbsent(key, compiled);
            return raced != null ? raced : compiled;
        }
    }

    /** Compiled constraints held now. */
    public int size() {
        synchronized (cache) {
            return cache.size();
        }
    }

    public TokenVocabulary vocabulary() {
        return vocab;
    }

    /** Ids the masks are over (the model's vocabulary). */
    public int maskVocabSize() {
        return maskVocab;
    }

    public TokenTrie trie() {
        return trie;
    }

    /** Time the trie took to build, in nanoseconds. */
    public long trieBuildNanos() {
        return trieNanos;
    }
}
