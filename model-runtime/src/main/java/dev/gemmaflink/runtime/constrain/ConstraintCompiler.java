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
 * ConstraintCompiler compiler = ConstraintCompiler.forTokenizer(tokenizer, maskExecutor);
 * ConstraintCursor cursor = compiler.compile(Constraint.choice(List.of("yes", "no")), tokenizer.stopIds()).start();
 * int token = Sampler.sample(logits, params, rng, cursor.mask());
 * cursor.advance(token);
 * }</pre>
 */
public final class ConstraintCompiler {

    /** Compiled constraints kept. */
    public static final int DEFAULT_CAPACITY = 128;

    private final TokenVocabulary vocab;
    private final TokenTrie trie;
    private final Executor maskExecutor;
    private final long trieNanos;
    private final Map<String, CompiledConstraint> cache;

    /**
     * @param vocab the vocabulary
     * @param maskExecutor where masks are computed ({@code Runnable::run} for the calling thread)
     * @param capacity compiled constraints kept
     */
    public ConstraintCompiler(TokenVocabulary vocab, Executor maskExecutor, int capacity) {
        this.vocab = Objects.requireNonNull(vocab, "vocab");
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

    /** A compiler over a tokenizer's vocabulary keeping {@link #DEFAULT_CAPACITY} constraints. */
    public static ConstraintCompiler forTokenizer(GemmaTokenizer tokenizer, Executor maskExecutor) {
        return new ConstraintCompiler(TokenVocabulary.of(tokenizer), maskExecutor, DEFAULT_CAPACITY);
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
        CompiledConstraint compiled = new CompiledConstraint(constraint, dfa, vocab, trie, ends, maskExecutor,
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

    public TokenTrie trie() {
        return trie;
    }

    /** Time the trie took to build, in nanoseconds. */
    public long trieBuildNanos() {
        return trieNanos;
    }
}
