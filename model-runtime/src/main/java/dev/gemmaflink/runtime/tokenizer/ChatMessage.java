package dev.gemmaflink.runtime.tokenizer;

import java.util.Objects;

/**
 * One chat message.
 *
 * @param role who speaks
 * @param text what was said
 */
public record ChatMessage(Role role, String text) {
    /** Speaker roles; Gemma has no system turn (its text is folded into the first user turn). */
    public enum Role {
        /** Instructions folded into the first user turn. */
        SYSTEM,
        /** The person. */
        USER,
        /** The model ("assistant" in other chat formats). */
        MODEL
    }

    /** Rejects null role or text. */
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(text, "text");
    }

    /** @return a system message */
    public static ChatMessage system(String text) {
        return new ChatMessage(Role.SYSTEM, text);
    }

    /** @return a user message */
    public static ChatMessage user(String text) {
        return new ChatMessage(Role.USER, text);
    }

    /** @return a model message */
    public static ChatMessage model(String text) {
        return new ChatMessage(Role.MODEL, text);
    }
}
