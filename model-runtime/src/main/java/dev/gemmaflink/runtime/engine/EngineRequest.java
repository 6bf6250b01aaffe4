package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.vision.ImagePrompt;
import dev.gemmaflink.runtime.vision.PanAndScanOptions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * One generation request for a {@link GemmaEngine}. Immutable; build with {@link #builder()}.
 *
 * <pre>{@code
 * EngineRequest r = EngineRequest.builder()
 *         .text("Summarise: ...").chat(true)
 *         .params(GenerationParams.builder().temperature(0).maxNewTokens(64).build())
 *         .tenant("acme").priority(1).deadline(Instant.now().plusSeconds(30))
 *         .build();
 * }</pre>
 *
 * Exactly one of {@link Builder#promptIds(int...)} (BOS included by the caller) and {@link Builder#text(String)}
 * (tokenized with BOS by the engine, off the caller's thread, as one user turn when {@link Builder#chat(boolean)}) must be set.
 *
 * <p>Images ({@link Builder#images(List)}, encoded bytes such as PNG or JPEG) go with a text prompt: each
 * {@value ImagePrompt#IMAGE_MARKER} in the text marks where the next image goes; a text without markers gets all
 * images in front of it (where the Gemma 3 chat template puts images that precede the text of a turn).
 */
public final class EngineRequest {

    private final String requestId;
    private final int[] promptIds; // null when text is set
    private final String text;
    private final boolean chat;
    private final GenerationParams params;
    private final String tenant;
    private final String cacheSalt;
    private final int priority;
    private final Instant deadline;
    private final List<byte[]> images;
    private final PanAndScanOptions panAndScan; // null: the engine's default

    private EngineRequest(Builder b) {
        this.requestId = b.requestId != null ? b.requestId : UUID.randomUUID().toString();
        this.promptIds = b.promptIds;
        this.text = b.text;
        this.chat = b.chat;
        this.params = b.params != null ? b.params : GenerationParams.defaults();
        this.tenant = b.tenant;
        this.cacheSalt = b.cacheSalt;
        this.priority = b.priority;
        this.deadline = b.deadline;
        this.images = List.copyOf(b.images);
        this.panAndScan = b.panAndScan;
    }

    public static Builder builder() {
        return new Builder();
    }

    public String requestId() {
        return requestId;
    }

    /** Prompt token ids (a copy), empty when the prompt is text. */
    public Optional<int[]> promptIds() {
        return Optional.ofNullable(promptIds).map(int[]::clone);
    }

    /** Prompt text, empty when the prompt is token ids. */
    public Optional<String> text() {
        return Optional.ofNullable(text);
    }

    /** Whether the text is formatted as one user turn of the chat template. */
    public boolean chat() {
        return chat;
    }

    public GenerationParams params() {
        return params;
    }

    /** The tenant (isolation domain of the prefix cache when the engine isolates tenants), or null. */
    public String tenant() {
        return tenant;
    }

    /** An explicit prefix-cache salt overriding the tenant, or null. */
    public String cacheSalt() {
        return cacheSalt;
    }

    /** Higher is scheduled first, and preempted last. */
    public int priority() {
        return priority;
    }

    /**
     * The instant after which the request ends with {@link EngineFinishReason#DEADLINE}, queued or running; null for
     * none. Absolute, so a request submitted again (after {@link EngineError.Reason#QUEUE_FULL}) keeps its deadline.
     */
    public Instant deadline() {
        return deadline;
    }

    /** The encoded images in prompt order (empty for a text-only request); do not modify the arrays. */
    public List<byte[]> images() {
        return images;
    }

    /** Pan &amp; Scan settings of this request, empty for the engine's default. */
    public Optional<PanAndScanOptions> panAndScan() {
        return Optional.ofNullable(panAndScan);
    }

    int[] promptIdsView() {
        return promptIds;
    }

    @Override
    public String toString() {
        return "EngineRequest[" + requestId + ", " + (promptIds != null ? promptIds.length + " ids" : "text")
                + (images.isEmpty() ? "" : ", " + images.size() + " images") + ", tenant=" + tenant + ", priority=" + priority + "]";
    }

    /** Builder; {@code build()} validates. */
    public static final class Builder {
        private String requestId;
        private int[] promptIds;
        private String text;
        private boolean chat;
        private GenerationParams params;
        private String tenant;
        private String cacheSalt;
        private int priority;
        private Instant deadline;
        private final List<byte[]> images = new ArrayList<>();
        private PanAndScanOptions panAndScan;

        private Builder() {
        }

        /** Optional: a unique id (default a random UUID); the engine refuses ids already in flight. */
        public Builder requestId(String id) {
            this.requestId = id;
            return this;
        }

        /** The prompt as token ids, BOS included; excludes {@link #text(String)}. */
        public Builder promptIds(int... ids) {
            this.promptIds = Objects.requireNonNull(ids, "promptIds").clone();
            return this;
        }

        /** The prompt as text (needs an engine with a tokenizer); excludes {@link #promptIds(int...)}. */
        public Builder text(String value) {
            this.text = Objects.requireNonNull(value, "text");
            return this;
        }

        /** Optional, default false: format the text as one user turn and open the model turn. */
        public Builder chat(boolean value) {
            this.chat = value;
            return this;
        }

        /** Optional: sampling and stopping (default {@link GenerationParams#defaults()}). */
        public Builder params(GenerationParams value) {
            this.params = Objects.requireNonNull(value, "params");
            return this;
        }

        /** Optional: the tenant; with tenant isolation on, tenants never share cached KV blocks. */
        public Builder tenant(String value) {
            this.tenant = value;
            return this;
        }

        /** Optional: an explicit cache salt; requests share cached prefixes only with the same salt. */
        public Builder cacheSalt(String value) {
            this.cacheSalt = value;
            return this;
        }

        /** Optional, default 0. */
        public Builder priority(int value) {
            this.priority = value;
            return this;
        }

        /** Optional: the absolute deadline (see {@link EngineRequest#deadline()}). */
        public Builder deadline(Instant value) {
            this.deadline = Objects.requireNonNull(value, "deadline");
            return this;
        }

        /** Optional: {@link #deadline(Instant)} this long (positive) from now. */
        public Builder timeout(Duration value) {
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException("timeout must be positive, got " + value);
            }
            this.deadline = Instant.now().plus(value);
            return this;
        }

        /**
         * Optional: encoded images (PNG, JPEG, ...) in prompt order, for a text prompt on a multimodal model. The
         * bytes are copied. Decoding problems fail the request's future with {@code vision.ImageDecodeException}.
         */
        public Builder images(List<byte[]> encoded) {
            Objects.requireNonNull(encoded, "images");
            images.clear();
            for (int i = 0; i < encoded.size(); i++) {
                byte[] b = encoded.get(i);
                if (b == null || b.length == 0) {
                    throw new IllegalArgumentException("image " + i + " is " + (b == null ? "null" : "empty"));
                }
                images.add(b.clone());
            }
            return this;
        }

        /** Optional: Pan &amp; Scan crops for this request's images (default: the engine's setting). */
        public Builder panAndScan(PanAndScanOptions options) {
            this.panAndScan = Objects.requireNonNull(options, "panAndScan");
            return this;
        }

        public EngineRequest build() {
            if ((promptIds == null) == (text == null)) {
                throw new IllegalArgumentException("set exactly one of promptIds and text"
                        + (promptIds == null ? " (neither is set)" : " (both are set)"));
            }
            if (promptIds != null && promptIds.length == 0) {
                throw new IllegalArgumentException("promptIds is empty: at least one token (BOS) is required");
            }
            if (chat && text == null) {
                throw new IllegalArgumentException("chat formatting applies to a text prompt, not to promptIds");
            }
            if (!images.isEmpty() && text == null) {
                throw new IllegalArgumentException("images go with a text prompt (with or without "
                        + ImagePrompt.IMAGE_MARKER + " markers), not with promptIds");
            }
            if (panAndScan != null && images.isEmpty()) {
                throw new IllegalArgumentException("panAndScan is set but the request has no images");
            }
            if (requestId != null && requestId.isEmpty()) {
                throw new IllegalArgumentException("requestId must not be empty");
            }
            return new EngineRequest(this);
        }
    }
}
