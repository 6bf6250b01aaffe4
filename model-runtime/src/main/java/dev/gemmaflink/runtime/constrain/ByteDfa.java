package dev.gemmaflink.runtime.constrain;

import java.nio.charset.StandardCharsets;

/**
 * A deterministic automaton over bytes, the compiled form of a {@link Constraint}. Bytes are grouped into classes
 * that every state treats alike, so the transition table has {@code numStates x numClasses} entries. Trimmed: every
 * state is reachable from the start and can reach an accepting state, so any path that stays defined can still be
 * completed, and {@code -1} (dead) is the only way out of the language. Immutable and thread-safe.
 */
public final class ByteDfa {

    /** The dead state: no continuation matches. */
    public static final int DEAD = -1;

    final int[] classOf; // byte -> class
    final int numClasses;
    final int[] next; // state * numClasses + class -> state or DEAD
    private final boolean[] accepting;
    private final boolean[] hasNext;

    ByteDfa(int[] classOf, int numClasses, int[] next, boolean[] accepting) {
        this.classOf = classOf;
        this.numClasses = numClasses;
        this.next = next;
        this.accepting = accepting;
        this.hasNext = new boolean[accepting.length];
        for (int s = 0; s < accepting.length; s++) {
            for (int c = 0; c < numClasses; c++) {
                if (next[s * numClasses + c] != DEAD) {
                    hasNext[s] = true;
                    break;
                }
            }
        }
    }

    /** The start state (always 0). */
    public int start() {
        return 0;
    }

    public int numStates() {
        return accepting.length;
    }

    /** Distinct byte classes (at most 256). */
    public int numClasses() {
        return numClasses;
    }

    /** The state after byte {@code b} (0..255) from {@code state}, or {@link #DEAD}. */
    public int next(int state, int b) {
        return next[state * numClasses + classOf[b & 0xFF]];
    }

    /** The state after all of {@code bytes}, or {@link #DEAD}. */
    public int step(int state, byte[] bytes) {
        int s = state;
        for (int i = 0; i < bytes.length && s != DEAD; i++) {
            s = next[s * numClasses + classOf[bytes[i] & 0xFF]];
        }
        return s;
    }

    public boolean isAccepting(int state) {
        return accepting[state];
    }

    /** Whether any byte continues from {@code state}; an accepting state without one is closed. */
    public boolean hasTransitions(int state) {
        return hasNext[state];
    }

    /** Whether the whole of {@code bytes} is in the language. */
    public boolean matches(byte[] bytes) {
        int s = step(start(), bytes);
        return s != DEAD && accepting[s];
    }

    /** Whether the UTF-8 encoding of {@code text} is in the language. */
    public boolean matches(String text) {
        return matches(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Approximate heap bytes of the tables. */
    public long bytes() {
        return 4L * next.length + 2L * accepting.length + 1024;
    }

    @Override
    public String toString() {
        return "ByteDfa[" + numStates() + " states, " + numClasses + " byte classes]";
    }
}
