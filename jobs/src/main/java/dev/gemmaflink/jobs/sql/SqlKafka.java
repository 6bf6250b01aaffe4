package dev.gemmaflink.jobs.sql;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.StringJoiner;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.gemmaflink.jobs.local.TopicReader;

/**
 * Kafka tables for Flink SQL with JSON rows: the DDL of a bounded source and an exactly-once sink, publishing rows and
 * reading committed ones. For bin/sql, the SQL end-to-end tests and the SQL benchmark.
 */
public final class SqlKafka {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SqlKafka() {
    }

    /**
     * {@code CREATE TABLE} of a JSON Kafka source read from the earliest offset up to the offsets that are latest
     * when the job starts (bounded).
     */
    public static String sourceTable(String name, String columns, String topic, String bootstrapServers,
            String groupId) {
        return "CREATE TEMPORARY TABLE " + name + " (" + columns + ") WITH ("
                + "'connector' = 'kafka', 'topic' = '" + topic + "', "
                + "'properties.bootstrap.servers' = '" + bootstrapServers + "', "
                + "'properties.group.id' = '" + groupId + "', "
                + "'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', "
                + "'format' = 'json')";
    }

    /**
     * {@code CREATE TABLE} of a JSON Kafka sink writing exactly once (transactions committed with checkpoints;
     * consumers read with {@code read_committed}).
     */
    public static String exactlyOnceSinkTable(String name, String columns, String topic, String bootstrapServers,
            String transactionalIdPrefix) {
        return "CREATE TEMPORARY TABLE " + name + " (" + columns + ") WITH ("
                + "'connector' = 'kafka', 'topic' = '" + topic + "', "
                + "'properties.bootstrap.servers' = '" + bootstrapServers + "', "
                + "'sink.delivery-guarantee' = 'exactly-once', "
                + "'sink.transactional-id-prefix' = '" + transactionalIdPrefix + "', "
                // Below the broker's transaction.max.timeout.ms (15 min); the client default (1 h) is refused.
                + "'properties.transaction.timeout.ms' = '600000', "
                + "'format' = 'json')";
    }

    /**
     * The {@code WITH} entries of a gemma model for the DataStream job's {@code enrich.gemma.*} settings (the same
     * engine, prompts' generation parameters), e.g. {@code 'max-batch' = '32', 'precision' = 'FLOAT32'}; template
     * settings are left out (a model's instruction is its own option).
     */
    public static String modelOptions(Map<String, String> jobSettings) {
        StringJoiner out = new StringJoiner(", ");
        jobSettings.forEach((key, value) -> {
            if (key.startsWith("enrich.gemma.") && !key.startsWith("enrich.gemma.template.")
                    && !key.startsWith("enrich.gemma.classify.") && !key.startsWith("enrich.gemma.extract.")) {
                out.add("'" + key.substring("enrich.gemma.".length()) + "' = '" + value.replace("'", "''") + "'");
            }
        });
        return out.toString();
    }

    /** Publishes rows as JSON objects (byte arrays as base64, as Flink's JSON format reads BYTES). */
    public static void send(String bootstrapServers, String topic, List<? extends Map<String, ?>> rows)
            throws Exception {
        List<byte[]> values = new ArrayList<>(rows.size());
        for (Map<String, ?> row : rows) {
            values.add(JSON.writeValueAsBytes(row));
        }
        sendBytes(bootstrapServers, topic, values);
    }

    /** Publishes raw record values (the DataStream job's wire format, for comparisons). */
    public static void sendBytes(String bootstrapServers, String topic, List<byte[]> values) throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (byte[] value : values) {
                producer.send(new ProducerRecord<>(topic, value));
            }
            producer.flush();
        }
    }

    /** Every committed JSON row of a topic, as a {@code read_committed} consumer sees it now. */
    public static List<JsonNode> readCommitted(String bootstrapServers, String topic, Duration timeout) {
        List<JsonNode> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : TopicReader.readCommittedRaw(bootstrapServers, topic, timeout)) {
            out.add(parse(r.value()));
        }
        return out;
    }

    /** One JSON row. */
    public static JsonNode parse(byte[] value) {
        try {
            return JSON.readTree(new String(value, StandardCharsets.UTF_8));
        } catch (Exception e) {
            throw new IllegalArgumentException("not a JSON row: " + new String(value, StandardCharsets.UTF_8), e);
        }
    }
}
