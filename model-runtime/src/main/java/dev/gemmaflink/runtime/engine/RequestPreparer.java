package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.constrain.Constraint;
import dev.gemmaflink.runtime.constrain.ConstraintCompiler;
import dev.gemmaflink.runtime.constrain.ConstraintException;
import dev.gemmaflink.runtime.tokenizer.ChatFormat;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import dev.gemmaflink.runtime.vision.ImageDecodeException;
import dev.gemmaflink.runtime.vision.ImageDecoder;
import dev.gemmaflink.runtime.vision.ImagePreprocessor;
import dev.gemmaflink.runtime.vision.ImagePrompt;
import dev.gemmaflink.runtime.vision.PanAndScanOptions;
import dev.gemmaflink.runtime.vision.PreparedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * Turns a request into what the engine thread schedules: the prompt's token ids and, for a multimodal request, its
 * decoded and preprocessed images and the assembled prompt ({@link ImagePrompt}). Runs on the engine's preparation
 * threads, never on the caller's or the device's; needs no model. Thread-safe.
 *
 * <p>A request with a {@link Constraint} gets its compiled form here (compiled once per distinct constraint and shared,
 * see {@link ConstraintCompiler}; the vocabulary's trie is built on the first such request) and a cursor whose first
 * mask starts computing at once, on the mask executor.
 *
 * <p>Each way a request cannot run here is an {@link EngineError}, naming the request and what is wrong.
 */
final class RequestPreparer {

    private final GemmaConfig config;
    private final GemmaTokenizer tokenizer; // null: promptIds only
    private final ImageDecoder imageDecoder;
    private final ImagePreprocessor imagePreprocessor; // null: text only
    private final ImagePrompt imagePrompt; // null: text only
    private final PanAndScanOptions defaultPanAndScan;
    private final int maxSequenceTokens;
    private final String sequenceLimit;
    private final String noImagesReason;
    private final Executor maskExecutor;
    private volatile ConstraintCompiler constraints; // built on the first constrained request

    /**
     * @param config the model's configuration
     * @param tokenizer the tokenizer, null when prompts come as token ids only
     * @param acceptsImages whether the engine holds an image encoder
     * @param imageDecoder decoder of the images' bytes
     * @param defaultPanAndScan Pan &amp; Scan of requests that do not choose
     * @param maxSequenceTokens the longest sequence the engine holds
     * @param sequenceLimit what sets it, named in the refusal of a longer request
     * @param maskExecutor where the token masks of constrained requests are computed
     */
    RequestPreparer(GemmaConfig config, GemmaTokenizer tokenizer, boolean acceptsImages, ImageDecoder imageDecoder,
            PanAndScanOptions defaultPanAndScan, int maxSequenceTokens, String sequenceLimit, Executor maskExecutor) {
        this.maskExecutor = maskExecutor;
        this.config = config;
        this.tokenizer = tokenizer;
        this.imageDecoder = imageDecoder;
        this.defaultPanAndScan = defaultPanAndScan;
        this.maxSequenceTokens = maxSequenceTokens;
        this.sequenceLimit = sequenceLimit;
        boolean images = acceptsImages && tokenizer != null;
        this.imagePreprocessor = images ? ImagePreprocessor.forVision(config.vision().orElseThrow()) : null;
        this.imagePrompt = images ? new ImagePrompt(config, s -> tokenizer.encode(s, false)) : null;
        this.noImagesReason = images ? null
                : config.vision().isEmpty() ? "the checkpoint has no vision_config"
                : !acceptsImages ? "the engine was built without an image encoder"
                : "the engine has no tokenizer to assemble the prompt";
    }

    /** True when a request is ready as given: token ids, no text to tokenize, no images, no constraint. */
    static boolean needsNoWork(EngineRequest request) {
        return request.promptIdsView() != null && request.params().constraint().isEmpty();
    }

    /**
     * Fills in the prompt of {@code s}.
     *
     * @return null when the request can run, else why not
     */
    EngineError prepare(RequestState s) {
        EngineRequest request = s.request;
        if (!request.images().isEmpty()) {
            EngineError error = prepareImages(s);
            if (error != null) {
                return error;
            }
        } else {
            int[] ids = request.promptIdsView();
            if (ids == null) {
                if (tokenizer == null) {
                    return new EngineError(EngineError.Reason.INVALID_PROMPT, "request " + request.requestId()
                            + " has a text prompt but the engine has no tokenizer: pass promptIds");
                }
                String text = request.text().orElseThrow();
                ids = tokenizer.encode(request.chat() ? ChatFormat.prompt(text) : text, true);
            }
            EngineError error = checkVocabulary(request, ids);
            if (error != null) {
                return error;
            }
            s.promptIds = ids.clone();
        }
        int limit = s.promptIds.length + request.params().maxNewTokens();
        if (limit > maxSequenceTokens) {
            return new EngineError(EngineError.Reason.PROMPT_TOO_LONG, "request " + request.requestId()
                    + ": prompt of " + s.promptIds.length + " tokens plus maxNewTokens "
                    + request.params().maxNewTokens() + " exceeds the longest sequence this engine holds, "
                    + maxSequenceTokens + " tokens (" + sequenceLimit + ")");
        }
        Constraint constraint = request.params().constraint().orElse(null);
        if (constraint != null) {
            if (tokenizer == null) {
                return new EngineError(EngineError.Reason.INVALID_PROMPT, "request " + request.requestId()
                        + " has a constraint but the engine has no tokenizer to map it onto tokens");
            }
            try {
                s.constraint = constraints().compile(constraint, request.params().stopIds()).start();
            } catch (ConstraintException e) {
                return new EngineError(EngineError.Reason.INVALID_PROMPT, "request " + request.requestId()
                        + ": constraint: " + e.getMessage());
            }
        }
        return null;
    }

    /** The constraint compiler if a constrained request built it, else null. */
    ConstraintCompiler constraintsIfBuilt() {
        return constraints;
    }

    /** The engine's constraint compiler, built (with the vocabulary's trie) on first use. */
    ConstraintCompiler constraints() {
        ConstraintCompiler c = constraints;
        if (c == null) {
            synchronized (this) {
                c = constraints;
                if (c == null) {
                    c = ConstraintCompiler.forTokenizer(tokenizer, config.vocabSize(), maskExecutor);
                    constraints = c;
                }
            }
        }
        return c;
    }

    private EngineError checkVocabulary(EngineRequest request, int[] ids) {
        int vocab = config.vocabSize();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                return new EngineError(EngineError.Reason.INVALID_PROMPT, "request " + request.requestId()
                        + ": token id " + ids[i] + " at position " + i + " is outside the vocabulary [0, " + vocab
                        + ")");
            }
        }
        return null;
    }

    /** Decodes and preprocesses the images and assembles the prompt as {@code vision.ImageCaptioner} does. */
    private EngineError prepareImages(RequestState s) {
        EngineRequest request = s.request;
        if (imagePrompt == null) {
            return new EngineError(EngineError.Reason.IMAGES_UNSUPPORTED, "request " + request.requestId()
                    + " has " + request.images().size() + " images but the engine serves text only: "
                    + noImagesReason);
        }
        PanAndScanOptions pas = request.panAndScan().orElse(defaultPanAndScan);
        List<PreparedImage> prepared = new ArrayList<>();
        for (int i = 0; i < request.images().size(); i++) {
            try {
                prepared.add(imagePreprocessor.prepare(request.images().get(i), imageDecoder, pas));
            } catch (ImageDecodeException e) {
                EngineError.Reason reason = e.reason() == ImageDecodeException.Reason.TOO_MANY_BYTES
                        ? EngineError.Reason.IMAGE_TOO_LARGE : EngineError.Reason.IMAGE_UNREADABLE;
                return new EngineError(reason, "request " + request.requestId() + ", image " + i + ": "
                        + e.reason() + ": " + e.detail());
            }
        }
        String text = request.text().orElseThrow();
        if (!text.contains(ImagePrompt.IMAGE_MARKER)) {
            text = ImagePrompt.IMAGE_MARKER.repeat(prepared.size()) + text;
        }
        if (request.chat()) {
            text = ChatFormat.prompt(text);
        }
        s.imagePrompt = imagePrompt.build(text, prepared, true);
        s.preparedImages = prepared;
        s.promptIds = s.imagePrompt.ids().clone();
        return null;
    }
}
