package dev.gemmaflink.jobs.local;

import java.util.LinkedHashMap;
import java.util.Map;

import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;

/** One-line JSON summaries of results and dead letters, for people and {@code jq}. */
public final class JsonLines {

    private JsonLines() {
    }

    public static String of(EnrichmentResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "result");
        m.put("requestId", r.getRequestId());
        m.put("task", r.getTask());
        m.put("output", r.getOutputText());
        m.put("modelId", r.getModelId());
        m.put("finishReason", r.getFinishReason());
        m.put("promptTokens", r.getPromptTokens());
        m.put("outputTokens", r.getOutputTokens());
        return render(m);
    }

    public static String of(DeadLetter d) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "dead-letter");
        m.put("requestId", d.getRequestId());
        m.put("errorCode", d.getErrorCode());
        m.put("stage", d.getStage());
        m.put("reason", d.getReason());
        m.put("origin", d.getSourceTopic() + "/" + d.getSourcePartition() + "/" + d.getSourceOffset());
        return render(m);
    }

    static String render(Map<String, Object> fields) {
        StringBuilder sb = new StringBuilder("{");
        fields.forEach((k, v) -> {
            if (sb.length() > 1) {
                sb.append(',');
            }
            sb.append(quote(k)).append(':');
            sb.append(v == null ? "null" : v instanceof Number ? v.toString() : quote(v.toString()));
        });
        return sb.append('}').toString();
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
