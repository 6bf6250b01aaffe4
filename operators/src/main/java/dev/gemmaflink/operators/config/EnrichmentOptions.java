package dev.gemmaflink.operators.config;

import java.time.Duration;
import java.util.List;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

import dev.gemmaflink.operators.registry.SubjectNameStrategy;
import dev.gemmaflink.operators.registry.WireFormat;

/**
 * Every tunable of the enrichment job, in one place. Load them with {@link OptionsLoader} (YAML file, then
 * {@code key=value} overrides); keys under {@code flink.} are passed to Flink itself with the prefix removed.
 *
 * <p>The README's configuration table lists the same keys and defaults (a test keeps the two in step).
 */
public final class EnrichmentOptions {

    private EnrichmentOptions() {
    }

    // ---------------------------------------------------------------- Kafka

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = ConfigOptions.key("kafka.bootstrap-servers")
            .stringType().defaultValue("localhost:9092")
            .withDescription("Kafka bootstrap servers, comma separated.");

    public static final ConfigOption<List<String>> REQUEST_TOPICS = ConfigOptions.key("kafka.request-topics")
            .stringType().asList().defaultValues("enrichment-requests")
            .withDescription("Topics the requests are read from (YAML list, or ';'-separated on the command line).");

    public static final ConfigOption<String> RESULT_TOPIC = ConfigOptions.key("kafka.result-topic")
            .stringType().defaultValue("enrichment-results")
            .withDescription("Topic EnrichmentResult records are written to, keyed by request id.");

    public static final ConfigOption<String> DEAD_LETTER_TOPIC = ConfigOptions.key("kafka.dead-letter-topic")
            .stringType().defaultValue("enrichment-dead-letters")
            .withDescription("Topic DeadLetter records are written to.");

    public static final ConfigOption<String> GROUP_ID = ConfigOptions.key("kafka.group-id")
            .stringType().defaultValue("gemma-enrichment")
            .withDescription("Consumer group id of the request source (offsets are committed on checkpoints).");

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX = ConfigOptions
            .key("kafka.transactional-id-prefix").stringType().defaultValue("gemma-enrichment")
            .withDescription("Prefix of the sinks' transactional ids; '-results' and '-dead-letters' are appended. "
                    + "Must be unique per job on a cluster.");

    public static final ConfigOption<Duration> TRANSACTION_TIMEOUT = ConfigOptions.key("kafka.transaction-timeout")
            .durationType().defaultValue(Duration.ofMinutes(10))
            .withDescription("Producer transaction.timeout.ms of the exactly-once sinks. Must stay below the "
                    + "broker's transaction.max.timeout.ms (15 min by default) and above the checkpoint interval.");

    public static final ConfigOption<StartingOffsets> STARTING_OFFSETS = ConfigOptions.key("kafka.starting-offsets")
            .enumType(StartingOffsets.class).defaultValue(StartingOffsets.COMMITTED)
            .withDescription("Where a job without state starts: COMMITTED (group offsets, else earliest), "
                    + "EARLIEST or LATEST.");

    public static final ConfigOption<Boolean> BOUNDED = ConfigOptions.key("kafka.bounded")
            .booleanType().defaultValue(false)
            .withDescription("Stop at the offsets that are latest when the job starts, then finish (tests, quick "
                    + "start). Production runs unbounded.");

    // ---------------------------------------------------------------- Job

    public static final ConfigOption<String> JOB_NAME = ConfigOptions.key("job.name")
            .stringType().defaultValue("gemma-enrichment")
            .withDescription("Flink job name.");

    public static final ConfigOption<Integer> PARALLELISM = ConfigOptions.key("job.parallelism")
            .intType().defaultValue(1)
            .withDescription("Parallelism of every operator, unless source.parallelism or inference.parallelism "
                    + "sets that of a stage.");

    public static final ConfigOption<Duration> CHECKPOINT_INTERVAL = ConfigOptions.key("job.checkpoint-interval")
            .durationType().defaultValue(Duration.ofSeconds(10))
            .withDescription("Exactly-once checkpoint interval; results become visible to read_committed "
                    + "consumers when the checkpoint that covers them completes.");

    public static final ConfigOption<String> CHECKPOINT_DIR = ConfigOptions.key("job.checkpoint-dir")
            .stringType().defaultValue("")
            .withDescription("Folder or file system URI (file://, s3://, hdfs://) under which checkpoints are kept, "
                    + "in a subfolder named after job.name, retained when the job is cancelled or killed. Empty: "
                    + "~/.local/state/gemma-flink/checkpoints. On a cluster of several hosts it must be storage that "
                    + "every host and the submitting client reach. Not used with job.restore FLINK.");

    public static final ConfigOption<RestoreMode> RESTORE = ConfigOptions.key("job.restore")
            .enumType(RestoreMode.class).defaultValue(RestoreMode.LATEST_CHECKPOINT)
            .withDescription("Where a start takes its state from: LATEST_CHECKPOINT (the newest complete checkpoint "
                    + "of this job under job.checkpoint-dir; the first start, without one, reads from "
                    + "kafka.starting-offsets), FLINK (Flink decides: the Kubernetes operator's last-state upgrade, "
                    + "high availability or flink.execution.state-recovery.path; the cluster's checkpoint settings "
                    + "apply) or NONE (no state: kafka.starting-offsets).");

    public static final ConfigOption<Boolean> ALLOW_START_WITHOUT_STATE = ConfigOptions
            .key("job.allow-start-without-state").booleanType().defaultValue(false)
            .withDescription("Start from kafka.starting-offsets although checkpoints of this job exist under "
                    + "job.checkpoint-dir (job.restore NONE, or none of them complete). Off, such a start is refused: "
                    + "the group offsets may be ahead of the committed results, and the records between would be "
                    + "skipped.");

    // ---------------------------------------------------------------- Validation

    public static final ConfigOption<Integer> MAX_TEXT_CHARS = ConfigOptions.key("validation.max-text-chars")
            .intType().defaultValue(32_768)
            .withDescription("Longest accepted request text, in UTF-16 chars; longer is a TEXT_TOO_LONG dead letter.");

    public static final ConfigOption<Integer> MAX_IMAGE_BYTES = ConfigOptions.key("validation.max-image-bytes")
            .intType().defaultValue(8 * 1024 * 1024)
            .withDescription("Largest accepted encoded image; larger is an IMAGE_TOO_LARGE dead letter.");

    public static final ConfigOption<List<String>> MEDIA_TYPES = ConfigOptions.key("validation.media-types")
            .stringType().asList().defaultValues("image/jpeg", "image/png", "image/webp", "image/bmp")
            .withDescription("Accepted image media types; others are UNSUPPORTED_MEDIA_TYPE dead letters.");

    public static final ConfigOption<Integer> MAX_NEW_TOKENS = ConfigOptions.key("validation.max-new-tokens")
            .intType().defaultValue(2048)
            .withDescription("Largest accepted generation.maxNewTokens; larger is an INVALID_PARAMETER dead letter.");

    public static final ConfigOption<Integer> MAX_REQUEST_ID_CHARS = ConfigOptions
            .key("validation.max-request-id-chars").intType().defaultValue(256)
            .withDescription("Longest accepted requestId, in UTF-16 chars; longer is an INVALID_PARAMETER dead "
                    + "letter.");

    public static final ConfigOption<Integer> MAX_TENANT_CHARS = ConfigOptions.key("validation.max-tenant-chars")
            .intType().defaultValue(128)
            .withDescription("Longest accepted tenant, in UTF-16 chars; longer is an INVALID_PARAMETER dead letter.");

    public static final ConfigOption<Integer> MAX_KEY_CHARS = ConfigOptions.key("validation.max-key-chars")
            .intType().defaultValue(256)
            .withDescription("Longest accepted session key, in UTF-16 chars; longer is an INVALID_PARAMETER dead "
                    + "letter.");

    // ---------------------------------------------------------------- Enrichment

    public static final ConfigOption<String> ENRICHER = ConfigOptions.key("enrich.enricher")
            .stringType().defaultValue("echo")
            .withDescription("Enricher implementation, by provider name (see EnricherProvider); 'echo' is the "
                    + "deterministic built-in one.");

    public static final ConfigOption<Integer> ASYNC_CAPACITY = ConfigOptions.key("enrich.async-capacity")
            .intType().defaultValue(64)
            .withDescription("Requests in flight per enrichment subtask; a full queue back-pressures the source.");

    public static final ConfigOption<Duration> ASYNC_TIMEOUT = ConfigOptions.key("enrich.async-timeout")
            .durationType().defaultValue(Duration.ofSeconds(120))
            .withDescription("Time a request may take in the enricher before it becomes a TIMEOUT dead letter.");

    public static final ConfigOption<Boolean> ORDERED = ConfigOptions.key("enrich.ordered")
            .booleanType().defaultValue(false)
            .withDescription("Emit results in input order (ordered async wait) instead of completion order.");

    public static final ConfigOption<String> ECHO_FAIL_MARKER = ConfigOptions.key("enrich.echo.fail-marker")
            .stringType().defaultValue("")
            .withDescription("Echo enricher only: a request whose text contains this marker fails with "
                    + "ENRICHMENT_FAILED (for tests). Empty disables it.");

    // ---------------------------------------------------------------- Placement of the inference stage

    /** Slot sharing group of the enrichment (inference) stage. */
    public static final String INFERENCE_SLOT_SHARING_GROUP = "inference";

    public static final ConfigOption<Integer> SOURCE_PARALLELISM = ConfigOptions.key("source.parallelism")
            .intType().defaultValue(0)
            .withDescription("Parallelism of the slot sharing group 'io': Kafka source, decode/validate and the "
                    + "dead-letter sink; 0 uses job.parallelism.");

    public static final ConfigOption<Integer> INFERENCE_PARALLELISM = ConfigOptions.key("inference.parallelism")
            .intType().defaultValue(0)
            .withDescription("Parallelism of the enrichment stage (slot sharing group 'inference': enrich, then "
                    + "the outcome split and result sink chained to it); 0 uses job.parallelism. Subtasks on one "
                    + "device share one engine.");

    public static final ConfigOption<Double> INFERENCE_GPU_AMOUNT = ConfigOptions.key("inference.gpu.amount")
            .doubleType().defaultValue(0.0)
            .withDescription("GPUs each 'inference' slot requests (Flink external resource 'gpu'); 0 requests no "
                    + "resource, so local runs work. Above 0 the group gets a fine-grained resource spec and runs "
                    + "only on TaskManagers offering external-resource.gpu.amount.");

    public static final ConfigOption<Double> INFERENCE_CPU_CORES = ConfigOptions.key("inference.cpu-cores")
            .doubleType().defaultValue(1.0)
            .withDescription("CPU cores of an 'inference' slot (used with inference.gpu.amount > 0).");

    public static final ConfigOption<Integer> INFERENCE_TASK_HEAP_MB = ConfigOptions.key("inference.task-heap-mb")
            .intType().defaultValue(512)
            .withDescription("Task heap in MB of an 'inference' slot (used with inference.gpu.amount > 0); the "
                    + "model's weights and KV cache live off-heap (libtorch).");

    // ---------------------------------------------------------------- Placement of the other operators

    /**
     * Slot sharing group of every operator outside the inference stage: the Kafka source, decode/validate and the
     * dead-letter sink. Named so that, with {@code inference.gpu.amount > 0}, it can carry a resource spec of its
     * own: under fine-grained resource management a slot without one gets a share of everything its TaskManager
     * has, GPUs included, and would keep a GPU TaskManager from hosting an inference slot.
     */
    public static final String IO_SLOT_SHARING_GROUP = "io";

    public static final ConfigOption<Double> IO_CPU_CORES = ConfigOptions.key("io.cpu-cores")
            .doubleType().defaultValue(1.0)
            .withDescription("CPU cores of an 'io' slot (Kafka source, decode/validate, dead-letter sink; used with "
                    + "inference.gpu.amount > 0, where the group gets a resource spec without GPUs).");

    public static final ConfigOption<Integer> IO_TASK_HEAP_MB = ConfigOptions.key("io.task-heap-mb")
            .intType().defaultValue(256)
            .withDescription("Task heap in MB of an 'io' slot (used with inference.gpu.amount > 0): Kafka consumer "
                    + "and producer buffers and records in flight; no managed memory (no keyed state there).");

    // ---------------------------------------------------------------- Dead letters and record sizes

    public static final ConfigOption<Integer> DEAD_LETTER_MAX_ORIGINAL_BYTES = ConfigOptions
            .key("dead-letter.max-original-bytes").intType().defaultValue(786_432)
            .withDescription("Largest original record value a dead letter keeps whole. A larger one is replaced by "
                    + "its first 1024 bytes, with its length and SHA-256 (originalTruncated true); the record itself "
                    + "stays in its topic at the dead letter's origin. With 64 KiB for the rest of the dead letter it "
                    + "must fit the producers' max.request.size (kafka.producer.max.request.size, 1048576 by "
                    + "default): checked at start.");

    public static final ConfigOption<Boolean> DROP_OVERSIZED_RECORDS = ConfigOptions
            .key("kafka.drop-oversized-records").booleanType().defaultValue(false)
            .withDescription("A result or dead letter larger than the producers' max.request.size is logged, "
                    + "counted (metric oversizedRecordsDropped of the sink) and dropped. Off, the job fails without "
                    + "restarting, naming this option: a restart would meet the same record again. Dead letters are "
                    + "cut to fit (dead-letter.max-original-bytes), so this concerns results and misconfigured "
                    + "limits only.");

    // ---------------------------------------------------------------- Wire formats and the schema registry

    public static final ConfigOption<WireFormat> REQUEST_FORMAT = ConfigOptions.key("format.requests")
            .enumType(WireFormat.class).defaultValue(WireFormat.AUTO)
            .withDescription("Wire format of the requests read: auto (told apart by their first bytes: C3 01 "
                    + "single-object, 00 Confluent framing, { Avro JSON), single-object, confluent (Schema Registry "
                    + "framing; needs schema-registry.url) or json. A record in another format is a dead letter.");

    public static final ConfigOption<WireFormat> RESULT_FORMAT = ConfigOptions.key("format.results")
            .enumType(WireFormat.class).defaultValue(WireFormat.SINGLE_OBJECT)
            .withDescription("Wire format of the results written: single-object, confluent (Schema Registry "
                    + "framing, the schema registered at job start under the subject of "
                    + "schema-registry.subject-name-strategy) or json.");

    public static final ConfigOption<WireFormat> DEAD_LETTER_FORMAT = ConfigOptions.key("format.dead-letters")
            .enumType(WireFormat.class).defaultValue(WireFormat.SINGLE_OBJECT)
            .withDescription("Wire format of the dead letters written: single-object, confluent or json.");

    public static final ConfigOption<String> SCHEMA_REGISTRY_URL = ConfigOptions.key("schema-registry.url")
            .stringType().defaultValue("")
            .withDescription("Base URL of the Schema Registry (Confluent REST API), or several, comma separated, "
                    + "tried in turn. Needed by the confluent format; with format.requests auto, a Confluent-framed "
                    + "request without a registry is an UNKNOWN_SCHEMA dead letter. Credentials and TLS: "
                    + "schema-registry.properties.* (see the README).");

    public static final ConfigOption<SubjectNameStrategy> SCHEMA_REGISTRY_SUBJECT_NAME_STRATEGY = ConfigOptions
            .key("schema-registry.subject-name-strategy").enumType(SubjectNameStrategy.class)
            .defaultValue(SubjectNameStrategy.TOPIC_NAME)
            .withDescription("Subject of the result and dead-letter schemas: TopicNameStrategy (<topic>-value), "
                    + "RecordNameStrategy (the record's full name) or TopicRecordNameStrategy "
                    + "(<topic>-<full name>).");

    public static final ConfigOption<Boolean> SCHEMA_REGISTRY_AUTO_REGISTER = ConfigOptions
            .key("schema-registry.auto-register").booleanType().defaultValue(true)
            .withDescription("Register the result and dead-letter schemas at job start. Off, they are looked up "
                    + "and must be registered already under their subject, else the job does not start.");

    public static final ConfigOption<Duration> SCHEMA_REGISTRY_CONNECT_TIMEOUT = ConfigOptions
            .key("schema-registry.connect-timeout").durationType().defaultValue(Duration.ofSeconds(5))
            .withDescription("Connect timeout of the registry client.");

    public static final ConfigOption<Duration> SCHEMA_REGISTRY_REQUEST_TIMEOUT = ConfigOptions
            .key("schema-registry.request-timeout").durationType().defaultValue(Duration.ofSeconds(10))
            .withDescription("Timeout of one registry request.");

    public static final ConfigOption<Duration> SCHEMA_REGISTRY_RETRY_TIMEOUT = ConfigOptions
            .key("schema-registry.retry-timeout").durationType().defaultValue(Duration.ofMinutes(1))
            .withDescription("How long an unreachable registry (connection error, timeout, 5xx, 429) is retried "
                    + "before the task fails and Flink restarts it from the last checkpoint. The record is never "
                    + "a dead letter for it.");

    public static final ConfigOption<Duration> SCHEMA_REGISTRY_RETRY_BACKOFF = ConfigOptions
            .key("schema-registry.retry-backoff").durationType().defaultValue(Duration.ofMillis(100))
            .withDescription("First pause between two registry retries; it doubles up to 5 s.");

    /** Every option above, in documentation order. */
    public static final List<ConfigOption<?>> ALL = List.of(
            BOOTSTRAP_SERVERS, REQUEST_TOPICS, RESULT_TOPIC, DEAD_LETTER_TOPIC, GROUP_ID, TRANSACTIONAL_ID_PREFIX,
            TRANSACTION_TIMEOUT, STARTING_OFFSETS, BOUNDED,
            JOB_NAME, PARALLELISM, CHECKPOINT_INTERVAL, CHECKPOINT_DIR, RESTORE, ALLOW_START_WITHOUT_STATE,
            MAX_TEXT_CHARS, MAX_IMAGE_BYTES, MEDIA_TYPES, MAX_NEW_TOKENS, MAX_REQUEST_ID_CHARS, MAX_TENANT_CHARS,
            MAX_KEY_CHARS,
            ENRICHER, ASYNC_CAPACITY, ASYNC_TIMEOUT, ORDERED, ECHO_FAIL_MARKER,
            SOURCE_PARALLELISM, INFERENCE_PARALLELISM, INFERENCE_GPU_AMOUNT, INFERENCE_CPU_CORES,
            INFERENCE_TASK_HEAP_MB, IO_CPU_CORES, IO_TASK_HEAP_MB,
            DEAD_LETTER_MAX_ORIGINAL_BYTES, DROP_OVERSIZED_RECORDS,
            REQUEST_FORMAT, RESULT_FORMAT, DEAD_LETTER_FORMAT, SCHEMA_REGISTRY_URL,
            SCHEMA_REGISTRY_SUBJECT_NAME_STRATEGY, SCHEMA_REGISTRY_AUTO_REGISTER, SCHEMA_REGISTRY_CONNECT_TIMEOUT,
            SCHEMA_REGISTRY_REQUEST_TIMEOUT, SCHEMA_REGISTRY_RETRY_TIMEOUT, SCHEMA_REGISTRY_RETRY_BACKOFF);

    /** Keys with this prefix are Flink settings, passed through with the prefix removed. */
    public static final String FLINK_PREFIX = "flink.";

    /** Where a start takes its state from ({@code job.restore}). */
    public enum RestoreMode {
        /** The newest complete checkpoint of the job under {@code job.checkpoint-dir}; none on a first start. */
        LATEST_CHECKPOINT,
        /** Whatever Flink restores (Kubernetes operator, high availability, an explicit state-recovery path). */
        FLINK,
        /** No state: the source starts from {@code kafka.starting-offsets}. */
        NONE
    }

    /** Where a job without state starts reading. */
    public enum StartingOffsets {
        /** The consumer group's committed offsets; partitions without one start at the earliest offset. */
        COMMITTED,
        /** The earliest offset of every partition. */
        EARLIEST,
        /** The latest offset of every partition: only new requests. */
        LATEST
    }
}
