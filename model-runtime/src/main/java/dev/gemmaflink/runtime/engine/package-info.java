/**
 * The inference engine: continuous batching of many requests over one device, on top of the paged KV cache of
 * {@link dev.gemmaflink.runtime.kvcache}, the scheduler of {@link dev.gemmaflink.runtime.sched} and the batched
 * forward pass of {@link dev.gemmaflink.runtime.model}.
 *
 * <ul>
 *   <li>{@link dev.gemmaflink.runtime.engine.GemmaEngine}: the facade; builder, thread-safe {@code submit}/
 *       {@code cancel}/{@code metrics}/{@code close}. {@link dev.gemmaflink.runtime.engine.EngineConfig}: every
 *       setting, with its default, in one value (also the key of a shared engine).</li>
 *   <li>Behind it, one file per stage: {@code RequestPreparer} (tokenizing, image decoding and prompt checks on the
 *       preparation threads), {@code EngineLoop} (the engine thread: owns the model, the KV storage and the
 *       planner; one step per iteration), {@code VisionStage} (the vision queue: image encoding under a views-per-step
 *       budget, with the embedding cache),
 *       and a callback thread that completes futures and streams tokens off the device thread.</li>
 *   <li>{@link dev.gemmaflink.runtime.engine.EngineRequest} in, {@link dev.gemmaflink.runtime.engine.RequestHandle}
 *       (future of an {@link dev.gemmaflink.runtime.engine.EngineResult}, optional per-token listener) out. Every
 *       way a request fails is its result's {@link dev.gemmaflink.runtime.engine.EngineError}; a full queue
 *       ({@code QUEUE_FULL}) is the back-pressure signal.</li>
 *   <li>{@link dev.gemmaflink.runtime.engine.EngineMetrics}: snapshot of lock-free counters and
 *       {@link dev.gemmaflink.runtime.engine.LatencyHistogram}s.</li>
 * </ul>
 *
 * <p>Exactness: with {@code Precision.FLOAT32} a greedy request produces the same tokens as the single-sequence
 * {@link dev.gemmaflink.runtime.generate.Generator}, whether it ran alone, batched, after a prefix-cache hit or
 * after preemption and recompute (the tests assert this). Tokens are sampled on the device right after the forward
 * pass ({@code GemmaModel.forwardSample}; only token ids come back), with counter-based noise of the request's seed
 * and the token's position ({@code model.SamplingNoise}), so a seeded sampled request is reproducible too, whatever it
 * is batched with and after preemption, and gets the tokens of the Java reference {@code generate.Sampler} (the tests
 * assert this as well).
 *
 * <p>Images (multimodal checkpoints): a request carries encoded images with a text prompt; {@code submit} decodes
 * and preprocesses them on a preparation thread and assembles the prompt with {@code vision.ImagePrompt}; on the
 * engine thread the request waits in the vision queue (first in, first out) while each iteration encodes at most
 * {@code maxImageViewsPerStep} views in one {@code ImageEncoder} call, so running sequences keep decoding in every
 * iteration of an image burst; once all its views are encoded it goes to the planner. Soft tokens are kept in a
 * byte-bounded LRU keyed by image content (and crop), and each prefill chunk gets its slice.
 * Chunks and prefix-cache hits never end inside an image (its attention is bidirectional); cached blocks that hold
 * image tokens are keyed by the image content. Greedy image requests match {@code Generator} fed by
 * {@code vision.ImageCaptioner}, also after preemption.
 *
 * <p>Failure contract: when a forward step fails, its requests end with {@code ERROR} and the blocks they alone held
 * leave the prefix cache (their keys and values were never written); other requests continue. An image that cannot
 * be decoded ends its own request with {@code IMAGE_UNREADABLE}; one whose encoding fails ends its own request with
 * {@code ENGINE_FAILURE} (a failed call over several requests' views is retried request by request).
 */
package dev.gemmaflink.runtime.engine;
