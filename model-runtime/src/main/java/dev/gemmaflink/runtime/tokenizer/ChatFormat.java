package dev.gemmaflink.runtime.tokenizer;

import java.util.List;

/**
 * Gemma 3's chat turn format, as its chat template renders it (without the BOS, which callers add as an id).
 *
 * <pre>
 * &lt;start_of_turn&gt;user
 * {system text}\n\n{user text}&lt;end_of_turn&gt;
 * &lt;start_of_turn&gt;model
 * </pre>
 *
 * A system message has no turn of its own: its text and a blank line go in front of the first user turn.
 * Turn texts are trimmed (the template applies {@code | trim}); the system text is not. Roles after the optional
 * system message must alternate user, model, user, ...
 */
public final class ChatFormat {
    /** Opens a turn. */
    public static final String START_OF_TURN = "<start_of_turn>";
    /** Closes a turn. */
    public static final String END_OF_TURN = "<end_of_turn>";

    private ChatFormat() {
    }

    /**
     * @param userText the user's message
     * @return one user turn followed by the opened model turn
     */
    public static String prompt(String userText) {
        return format(List.of(ChatMessage.user(userText)), true);
    }

    /**
     * @param systemText instructions (null or empty for none)
     * @param userText the user's message
     * @return the system text folded into the user turn, then the opened model turn
     */
    public static String prompt(String systemText, String userText) {
        if (systemText == null || systemText.isEmpty()) {
            return prompt(userText);
        }
        return format(List.of(ChatMessage.system(systemText), ChatMessage.user(userText)), true);
    }

    /**
     * @param messages optional system message first, then alternating user / model messages starting with user
     * @param addGenerationPrompt whether to open the model's turn at the end
     * @return the formatted conversation (no BOS)
     * @throws IllegalArgumentException when roles do not alternate or a system message is not first
     */
    public static String format(List<ChatMessage> messages, boolean addGenerationPrompt) {
        StringBuilder sb = new StringBuilder();
        String firstUserPrefix = "";
        int start = 0;
        if (!messages.isEmpty() && messages.get(0).role() == ChatMessage.Role.SYSTEM) {
            firstUserPrefix = messages.get(0).text() + "\n\n";
            start = 1;
        }
        for (int i = start; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            ChatMessage.Role expected = (i - start) % 2 == 0 ? ChatMessage.Role.USER : ChatMessage.Role.MODEL;
            if (m.role() != expected) {
                throw new IllegalArgumentException("message " + i + " has role " + m.role() + " but " + expected
                        + " was expected: after an optional first system message, roles must alternate user/model");
            }
            sb.append(START_OF_TURN).append(m.role() == ChatMessage.Role.USER ? "user" : "model").append('\n');
            if (i == start) {
                sb.append(firstUserPrefix);
            }
            sb.append(m.text().strip()).append(END_OF_TURN).append('\n');
        }
        if (addGenerationPrompt) {
            sb.append(START_OF_TURN).append("model\n");
        }
        return sb.toString();
    }
}
