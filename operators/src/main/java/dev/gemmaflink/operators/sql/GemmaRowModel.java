package dev.gemmaflink.operators.sql;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.table.data.ArrayData;
import org.apache.flink.table.data.GenericArrayData;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.functions.FunctionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.gemmaflink.operators.enrich.EnrichmentException;
import dev.gemmaflink.operators.enrich.GpuAssigner;
import dev.gemmaflink.operators.gemma.DeviceSelector;
import dev.gemmaflink.operators.gemma.EngineFailures;
import dev.gemmaflink.operators.gemma.GemmaMetrics;
import dev.gemmaflink.operators.gemma.OutputText;
import dev.gemmaflink.operators.gemma.SharedEngines;
import dev.gemmaflink.operators.gemma.SharedResources;
import dev.gemmaflink.operators.gemma.StructuredOutputs;
import dev.gemmaflink.operators.sql.GemmaModelOptions.ErrorHandling;
import dev.gemmaflink.operators.sql.GemmaModelOptions.Task;
import dev.gemmaflink.operators.sql.ModelSchema.In;
import dev.gemmaflink.operators.validate.Rejection;
import dev.gemmaflink.operators.validate.RequestValidator;
import dev.gemmaflink.operators.validate.TaskRegistry;
import dev.gemmaflink.operators.validate.TaskSpec;
import dev.gemmaflink.operators.validate.ValidationLimits;
import dev.gemmaflink.runtime.constrain.Constraint;
import dev.gemmaflink.runtime.engine.EngineFinishReason;
import dev.gemmaflink.runtime.engine.EngineRequest;
import dev.gemmaflink.runtime.engine.EngineResult;
import dev.gemmaflink.runtime.engine.GemmaEngine;
import dev.gemmaflink.runtime.engine.RequestHandle;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.tokenizer.ChatFormat;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.ImageData;

/**
 * One predict subtask's use of the shared engine: turns an input row into the engine request the DataStream job's
 * enricher would make for the same content, submits it to the engine this subtask shares with every other subtask
 * on its device ({@link SharedEngines}, the DataStream job's registry), and turns the engine's answer into the
 * output row. Not serializable: the predict functions create it in {@code open}.
 *
 * <p>A row is checked by the DataStream job's own {@link RequestValidator} (default limits) and prompted by its
 * {@link dev.gemmaflink.operators.gemma.PromptTemplates}; how the engine ended it maps to an error code through
 * {@link EngineFailures}. A full engine queue is submitted again with back-off until the row's deadline. A row that
 * fails is a row with its error code and reason ({@code 'error-handling' = 'output'}) or a failed future
 * ({@code 'fail'}); an engine that stopped serving always fails the future, so the task restarts from its checkpoint.
 */
final class GemmaRowModel implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GemmaRowModel.class);

    /** Tenant and prefix-cache salt of SQL rows: rows of every gemma model share cached instruction prefixes. */
    static final String TENANT = "sql";
    /** First and longest wait before a row refused by a full engine queue is submitted again. */
    private static final long FIRST_RETRY_MILLIS = 5;
    private static final long MAX_RETRY_MILLIS = 500;

    /** Name under which extract's 'output-schema' is the model's one named schema. */
    static final String OUTPUT_SCHEMA_NAME = "output-schema";

    /** The job's tasks plus GENERATE (text required, image optional). */
    private static final TaskRegistry TASKS = TaskRegistry.builder().add(TaskRegistry.SUMMARIZE)
            .add(TaskRegistry.TRANSLATE).add(TaskRegistry.CAPTION).add(TaskRegistry.CLASSIFY)
            .add(TaskRegistry.EXTRACT)
            .add(new TaskSpec(Task.GENERATE.name(), true, false, false)).build();
    private static final RequestValidator VALIDATOR = new RequestValidator(TASKS,
            ValidationLimits.from(new org.apache.flink.configuration.Configuration()));

    private final GemmaModelSpec spec;
    private final Constraint classifyLabels; // classify: the label constraint its outputs are parsed with
    private final Duration rowTimeout;
    private final String device;
    private final GpuAssigner.Assignment gpu;
    private final SharedResources.Lease<SharedEngines.Key, GemmaEngine> lease;
    private final GemmaEngine engine;
    private final String modelId;
    private final Set<RequestHandle> inFlight = ConcurrentHashMap.newKeySet();
    private final AtomicLong sequence = new AtomicLong();
    private final ScheduledExecutorService retries;
    private volatile boolean closed;

    /**
     * Leases the shared engine of the model on the device Flink gave this subtask's slot.
     *
     * @param gpus the slot's {@code gpu} external resources
     * @param subtaskIndex the subtask's index
     * @param metrics the subtask's metric group (group {@code gemma} is added)
     */
    GemmaRowModel(GemmaModelSpec spec, Duration rowTimeout, Collection<ExternalResourceInfo> gpus, int subtaskIndex,
            MetricGroup metrics) {
        this.spec = spec;
        this.rowTimeout = rowTimeout;
        StructuredOutputs outputs = spec.templates().outputs();
        this.classifyLabels = spec.task() != Task.CLASSIFY ? null
                : Constraint.choice(outputs.defaultLabels(), outputs.defaultMaxLabels());
        // The TaskManager's GPUs are shared out among its subtasks, as for the DataStream job's enrich step.
        this.gpu = GpuAssigner.TASK_MANAGER.acquire(gpus);
        Path dir = Path.of(spec.modelDir());
        try {
            this.device = DeviceSelector.select(gpu.index(), spec.devicePolicy());
            if (!Files.isRegularFile(dir.resolve("config.json"))) {
                throw new IllegalStateException("gemma model " + spec.name() + ": 'model-dir' = '" + spec.modelDir()
                        + "' holds no config.json on this TaskManager: not a Gemma 3 checkpoint folder");
            }
            this.lease = SharedEngines.acquire(new SharedEngines.Key(dir.toAbsolutePath().normalize().toString(),
                    spec.engineConfig().toBuilder().device(device).build()));
        } catch (RuntimeException | Error e) {
            gpu.close();
            throw e;
        }
        this.engine = lease.get();
        Path name = dir.toAbsolutePath().normalize().getFileName();
        this.modelId = spec.engineConfig().modelId() != null ? spec.engineConfig().modelId()
                : name == null ? "gemma" : name.toString();
        this.retries = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "gemma-sql-retry-" + spec.name());
            t.setDaemon(true);
            return t;
        });
        try {
            if (metrics != null) {
                GemmaMetrics.register(metrics, engine, inFlight::size);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        LOG.info("gemma model {} subtask {} on {} (engine shared by {} subtasks), rows time out after {}",
                spec.name(), subtaskIndex, device, SharedEngines.references(lease.key()), rowTimeout);
    }

    /** The model of one predict function's subtask, from the function's open context. */
    static GemmaRowModel open(GemmaModelSpec spec, Duration rowTimeout, FunctionContext context) {
        return new GemmaRowModel(spec, rowTimeout, context.getExternalResourceInfos(DeviceSelector.GPU_RESOURCE),
                context.getTaskInfo().getIndexOfThisSubtask(), context.getMetricGroup());
    }

    /** The device of this subtask ({@code cpu} or {@code gpu:N}). */
    String device() {
        return device;
    }

    /** The engine this subtask feeds. */
    GemmaEngine engine() {
        return engine;
    }

    /**
     * Predicts one row.
     *
     * @return the output row: the text and counts, or (under 'error-handling' = 'output') the error code and
     *     reason; completed exceptionally under 'fail' for a row that failed, and always when the engine is gone
     */
    CompletableFuture<RowData> predict(RowData input) {
        Instant deadline = Instant.now().plus(rowTimeout);
        Prepared prepared;
        try {
            prepared = prepare(input);
        } catch (EnrichmentException e) {
            return failed(e);
        } catch (RuntimeException e) {
            // Not the row's known fault, but still this row's only: it gets INTERNAL, the stream goes on.
            return failed(new EnrichmentException(ErrorCode.INTERNAL, "could not prepare the row: " + e, e));
        }
        CompletableFuture<RowData> out = new CompletableFuture<>();
        submit(prepared, deadline, FIRST_RETRY_MILLIS, out);
        return out;
    }

    private void submit(Prepared prepared, Instant deadline, long backoffMillis, CompletableFuture<RowData> out) {
        if (closed) {
            out.completeExceptionally(new IllegalStateException("gemma model " + spec.name() + " is closed"));
            return;
        }
        RequestHandle handle;
        try {
            handle = engine.submit(prepared.request(nextId(), deadline));
        } catch (RuntimeException e) {
            complete(out, new EnrichmentException(ErrorCode.INTERNAL, "the engine refused the row: " + e, e));
            return;
        }
        inFlight.add(handle);
        handle.result().whenComplete((r, e) -> {
            inFlight.remove(handle);
            if (e != null) {
                out.completeExceptionally(e);
                return;
            }
            if (r.incomplete()) {
                complete(out, EngineFailures.incomplete(r));
                return;
            }
            if (r.finishReason() == EngineFinishReason.STOP || r.finishReason() == EngineFinishReason.LENGTH) {
                out.complete(resultRow(r));
                return;
            }
            RuntimeException failure = EngineFailures.of(r);
            if (failure instanceof EnrichmentException ee && ee.retryable()) {
                long left = Duration.between(Instant.now(), deadline).toMillis();
                if (left > backoffMillis && !closed) {
                    retries.schedule(() -> submit(prepared, deadline, Math.min(MAX_RETRY_MILLIS, backoffMillis * 2),
                            out), backoffMillis, TimeUnit.MILLISECONDS);
                    return;
                }
                failure = new EnrichmentException(ErrorCode.TIMEOUT, "the engine's queue stayed full for the row's "
                        + "timeout of " + rowTimeout + " (request-timeout): " + r.error().message());
            }
            if (failure instanceof EnrichmentException ee) {
                complete(out, ee);
            } else {
                out.completeExceptionally(failure); // the engine is gone: fail the task, replay from the checkpoint
            }
        });
    }

    private void complete(CompletableFuture<RowData> out, EnrichmentException e) {
        if (spec.errors() == ErrorHandling.FAIL) {
            out.completeExceptionally(failure(e));
        } else {
            out.complete(errorRow(e.code(), e.getMessage()));
        }
    }

    private CompletableFuture<RowData> failed(EnrichmentException e) {
        CompletableFuture<RowData> out = new CompletableFuture<>();
        complete(out, e);
        return out;
    }

    /** The exception that fails the job for a row under 'error-handling' = 'fail'. */
    private RuntimeException failure(EnrichmentException e) {
        return new GemmaRowException(spec.name(), e.code(), e.getMessage(), e);
    }

    private String nextId() {
        return "sql#" + System.identityHashCode(this) + "-" + sequence.incrementAndGet();
    }

    /** A row turned into what the engine is asked, or the reason it cannot be asked. */
    record Prepared(String prompt, byte[] image, GenerationParams params) {
        EngineRequest request(String id, Instant deadline) {
            EngineRequest.Builder b = EngineRequest.builder().requestId(id).text(prompt).chat(false)
                    .tenant(TENANT).cacheSalt(TENANT).params(params).deadline(deadline);
            if (image != null) {
                b.images(List.of(image));
            }
            return b.build();
        }
    }

    /**
     * The engine request of a row: the DataStream job's validation and prompt of the same content.
     *
     * @throws EnrichmentException with the row's error code when the row cannot be served
     */
    Prepared prepare(RowData row) {
        ModelSchema schema = spec.schema();
        String text = string(row, schema.input(In.TEXT));
        byte[] image = bytes(row, schema.input(In.IMAGE));
        String language = Optional.ofNullable(string(row, schema.input(In.TARGET_LANGUAGE)))
                .orElse(spec.targetLanguage());
        EnrichmentRequest.Builder request = EnrichmentRequest.newBuilder().setRequestId(spec.name()).setTenant(TENANT)
                .setTask(spec.task().name()).setText(text).setTargetLanguage(language).setEventTime(Instant.EPOCH);
        if (spec.task() == Task.EXTRACT) {
            request.setOutputSchemaName(OUTPUT_SCHEMA_NAME);
        }
        if (image != null) {
            ByteBuffer data = ByteBuffer.wrap(image);
            String mediaType = Optional.ofNullable(string(row, schema.input(In.MEDIA_TYPE)))
                    .or(() -> RequestValidator.mediaTypeOf(data)).orElse("application/octet-stream");
            request.setImage(ImageData.newBuilder().setData(data).setMediaType(mediaType).build());
        }
        EnrichmentRequest r = request.build();
        Optional<Rejection> rejection = VALIDATOR.validate(r);
        if (rejection.isPresent()) {
            throw new EnrichmentException(rejection.get().code(), rejection.get().reason());
        }
        String prompt = spec.task() == Task.GENERATE ? generatePrompt(spec.generateInstruction(), text)
                : spec.templates().prompt(r);
        GenerationParams.Builder builder = GenerationParams.builder();
        // classify and extract: the output is constrained to the labels or the JSON Schema.
        spec.templates().outputs().constraint(r).ifPresent(builder::constraint);
        // classify: the labels' probability costs one reduction over the logit row per token.
        builder.outputLogprob(spec.task() == Task.CLASSIFY);
        GenerationParams params = builder.maxNewTokens(spec.maxNewTokens())
                .temperature(spec.temperature()).topK(spec.topK()).topP(spec.topP())
                // Replayed rows (after a restore) sample the same tokens: the seed depends on the content only.
                .seed(prompt.hashCode() * 0x9E3779B97F4A7C15L + (image == null ? 0 : java.util.Arrays.hashCode(image)))
                .build();
        return new Prepared(prompt, image, params);
    }

    /** The prompt of {@code task = generate}: {text} in the instruction replaced, else the text after it. */
    static String generatePrompt(String instruction, String text) {
        return instruction.contains("{text}") ? ChatFormat.prompt(instruction.replace("{text}", text))
                : ChatFormat.prompt(instruction, text);
    }

    private static String string(RowData row, int field) {
        return field < 0 || row.isNullAt(field) ? null : row.getString(field).toString();
    }

    private static byte[] bytes(RowData row, int field) {
        return field < 0 || row.isNullAt(field) ? null : row.getBinary(field);
    }

    /** The output row of a request the engine finished. */
    RowData resultRow(EngineResult r) {
        ModelSchema schema = spec.schema();
        GenericRowData out = new GenericRowData(schema.outputArity());
        for (int i = 0; i < schema.outputArity(); i++) {
            out.setField(i, switch (schema.output(i)) {
                // A constrained output is exactly the label or the JSON text.
                case TEXT -> StringData.fromString(spec.task() == Task.CLASSIFY || spec.task() == Task.EXTRACT
                        ? r.text() : OutputText.clean(r.text()));
                case FINISH_REASON -> StringData.fromString(r.finishReason().name());
                case PROMPT_TOKENS -> count(schema, i, r.promptTokens());
                case OUTPUT_TOKENS -> count(schema, i, r.numTokens());
                case CACHED_PROMPT_TOKENS -> count(schema, i, r.cachedPromptTokens());
                case MODEL_ID -> StringData.fromString(modelId);
                case LABELS -> spec.task() == Task.CLASSIFY ? labels(r.text()) : null;
                case PROBABILITY -> spec.task() == Task.CLASSIFY && r.outputProbability().isPresent()
                        ? (Object) r.outputProbability().getAsDouble() : null;
                case ERROR_CODE, ERROR_MESSAGE -> null;
            });
        }
        return out;
    }

    /** The output row of a row that failed: no text, finish reason ERROR, its code and reason. */
    RowData errorRow(ErrorCode code, String reason) {
        ModelSchema schema = spec.schema();
        GenericRowData out = new GenericRowData(schema.outputArity());
        for (int i = 0; i < schema.outputArity(); i++) {
            out.setField(i, switch (schema.output(i)) {
                case FINISH_REASON -> StringData.fromString(EngineFinishReason.ERROR.name());
                case MODEL_ID -> StringData.fromString(modelId);
                case ERROR_CODE -> StringData.fromString(code.name());
                case ERROR_MESSAGE -> StringData.fromString(reason);
                case TEXT, PROMPT_TOKENS, OUTPUT_TOKENS, CACHED_PROMPT_TOKENS, LABELS, PROBABILITY -> null;
            });
        }
        return out;
    }

    /** The labels a classify output names. */
    private ArrayData labels(String output) {
        List<String> chosen = classifyLabels.chosenLabels(output);
        return new GenericArrayData(chosen.stream().map(StringData::fromString).toArray(StringData[]::new));
    }

    private static Object count(ModelSchema schema, int column, int value) {
        return schema.bigint(column) ? (Object) (long) value : (Object) value;
    }

    /** Requests of this subtask in the engine now. */
    int inFlight() {
        return inFlight.size();
    }

    /** Cancels this subtask's requests and releases its lease on the shared engine (the last one closes it). */
    @Override
    public void close() {
        closed = true;
        retries.shutdownNow();
        for (RequestHandle h : inFlight) {
            h.cancel();
        }
        lease.close();
        gpu.close();
    }
}
