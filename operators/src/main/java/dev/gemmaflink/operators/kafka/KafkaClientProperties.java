package dev.gemmaflink.operators.kafka;

import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Kafka client settings passed through from the job configuration, as Flink's SQL Kafka connector does with
 * {@code properties.*}: security ({@code security.protocol}, {@code sasl.*}, {@code ssl.*}), timeouts, batching,
 * compression and the like. The job's own options win where they exist, and the keys that exactly-once delivery
 * depends on cannot be overridden.
 *
 * <ul>
 *   <li>{@value #COMMON_PREFIX}{@code KEY}: for the request consumer and both producers;</li>
 *   <li>{@value #CONSUMER_PREFIX}{@code KEY}: for the request consumer only (wins over the common one);</li>
 *   <li>{@value #PRODUCER_PREFIX}{@code KEY}: for the result and dead-letter producers only (wins likewise).</li>
 * </ul>
 */
public final class KafkaClientProperties {

    /** Prefix of settings for every Kafka client of the job. */
    public static final String COMMON_PREFIX = "kafka.properties.";
    /** Prefix of settings for the request consumer. */
    public static final String CONSUMER_PREFIX = "kafka.consumer.";
    /** Prefix of settings for the two exactly-once producers. */
    public static final String PRODUCER_PREFIX = "kafka.producer.";

    /** Client keys the job sets itself, with the job option to use instead (or why it is fixed). */
    private static final Map<String, String> RESERVED = Map.ofEntries(
            Map.entry("bootstrap.servers", "use kafka.bootstrap-servers"),
            Map.entry("group.id", "use kafka.group-id"),
            Map.entry("transactional.id", "use kafka.transactional-id-prefix"),
            Map.entry("transaction.timeout.ms", "use kafka.transaction-timeout"),
            Map.entry("isolation.level", "the job reads requests read_committed"),
            Map.entry("enable.idempotence", "exactly-once delivery needs it"),
            Map.entry("enable.auto.commit", "offsets are committed on checkpoints"),
            Map.entry("commit.offsets.on.checkpoint", "offsets are committed on checkpoints"),
            Map.entry("key.serializer", "the job writes Avro"),
            Map.entry("value.serializer", "the job writes Avro"),
            Map.entry("key.deserializer", "the job reads Avro"),
            Map.entry("value.deserializer", "the job reads Avro"));

    /** The Kafka producer's default {@code max.request.size} (1 MiB). */
    public static final int DEFAULT_MAX_REQUEST_SIZE = 1_048_576;

    private static final Set<String> PREFIXES = Set.of(COMMON_PREFIX, CONSUMER_PREFIX, PRODUCER_PREFIX);

    private KafkaClientProperties() {
    }

    /** Whether a configuration key belongs to this pass-through (so option validation accepts it). */
    public static boolean isPassThrough(String key) {
        return PREFIXES.stream().anyMatch(p -> key.startsWith(p) && key.length() > p.length());
    }

    /**
     * Refuses a pass-through key that names a client setting the job controls.
     *
     * @throws IllegalArgumentException naming the key and what to do instead
     */
    public static void validate(String key) {
        String clientKey = clientKey(key);
        String reason = RESERVED.get(clientKey);
        if (reason != null) {
            throw new IllegalArgumentException(String.format(
                    "option '%s' sets the Kafka client's '%s', which the job controls: %s", key, clientKey, reason));
        }
    }

    /** Settings of the request consumer: the common ones, then {@value #CONSUMER_PREFIX} ones over them. */
    public static Properties consumer(Configuration conf) {
        return collect(conf, CONSUMER_PREFIX);
    }

    /** Settings of the result and dead-letter producers: the common ones, then {@value #PRODUCER_PREFIX} ones. */
    public static Properties producer(Configuration conf) {
        return collect(conf, PRODUCER_PREFIX);
    }

    /** Settings of an admin client of the job (start-up checks): the common ones only. */
    public static Properties admin(Configuration conf) {
        return collect(conf, COMMON_PREFIX);
    }

    /** The producers' {@code max.request.size}: the pass-through setting, else the Kafka client's default. */
    public static int maxRequestSize(Configuration conf) {
        String value = producer(conf).getProperty(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
        if (value == null) {
            return DEFAULT_MAX_REQUEST_SIZE;
        }
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Kafka producer setting max.request.size must be an int, got '"
                    + value + "'", e);
        }
    }

    private static Properties collect(Configuration conf, String specificPrefix) {
        Map<String, String> all = conf.toMap();
        Properties props = new Properties();
        for (String prefix : new String[] {COMMON_PREFIX, specificPrefix}) {
            all.forEach((key, value) -> {
                if (key.startsWith(prefix) && key.length() > prefix.length()) {
                    validate(key);
                    props.setProperty(key.substring(prefix.length()), value);
                }
            });
        }
        return props;
    }

    private static String clientKey(String key) {
        for (String prefix : PREFIXES) {
            if (key.startsWith(prefix)) {
                return key.substring(prefix.length());
            }
        }
        throw new IllegalArgumentException("'" + key + "' is not a Kafka client pass-through key (prefixes: "
                + COMMON_PREFIX + ", " + CONSUMER_PREFIX + ", " + PRODUCER_PREFIX + ")");
    }
}
