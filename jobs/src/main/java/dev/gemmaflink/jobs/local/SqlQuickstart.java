package dev.gemmaflink.jobs.local;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import dev.gemmaflink.jobs.EnrichmentJob;
import dev.gemmaflink.jobs.sql.SqlKafka;
import dev.gemmaflink.jobs.sql.SqlScript;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/sql}: the gemma model provider through Flink SQL on one machine. An embedded Kafka broker, a topic of
 * JSON requests (summaries, translations, captions of a PNG and a JPEG drawn here, and bad ones), the SQL script
 * {@code sql/quickstart.sql} (a Kafka table, {@code CREATE MODEL} of a summarizer, a translator and a captioner, one
 * {@code INSERT INTO} results {@code FROM ML_PREDICT} per model in one statement set) run on a local MiniCluster,
 * and every result row printed as a JSON line on stdout as its transaction commits. Exits 0 when every request has
 * exactly one row. Logs go to stderr.
 */
@Command(name = "sql", mixinStandardHelpOptions = true,
        description = "Embedded Kafka + local Flink SQL: CREATE MODEL ... 'gemma', ML_PREDICT, print the results.")
public final class SqlQuickstart implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "DIR", description = "A Gemma 3 checkpoint folder. Default: the quick "
            + "start's tiny random multimodal checkpoint (~/.cache/gemma-flink/quickstart-model).")
    Path model;

    @Option(names = "--script", paramLabel = "FILE", description = "A SQL script to run instead of the built-in "
            + "one; it may use ${bootstrap}, ${requests_topic}, ${results_topic}, ${model_dir}, ${model_options}.")
    Path script;

    static final String REQUESTS = "sql-requests";
    static final String RESULTS = "sql-results";

    public static void main(String[] args) {
        System.exit(EnrichmentJob.commandLine(new SqlQuickstart()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Path dir = model != null ? model : QuickstartModel.prepare(QuickstartModel.defaultDir(), System.err);
        try (EmbeddedKafkaCluster kafka = EmbeddedKafkaCluster.start()) {
            kafka.createTopics(2, REQUESTS);
            kafka.createTopics(1, RESULTS);
            List<Map<String, Object>> requests = requests();
            SqlKafka.send(kafka.bootstrapServers(), REQUESTS, requests);
            System.err.printf("sql: published %d requests to %s, running the SQL script%n", requests.size(),
                    REQUESTS);

            Map<String, String> values = new LinkedHashMap<>();
            values.put("bootstrap", kafka.bootstrapServers());
            values.put("requests_topic", REQUESTS);
            values.put("results_topic", RESULTS);
            values.put("model_dir", dir.toAbsolutePath().toString().replace("'", "''"));
            values.put("model_options", modelOptions(model == null));
            List<String> statements = SqlScript.statements(scriptText(), values);

            Configuration conf = new Configuration();
            conf.setString("parallelism.default", "2");
            conf.setString("execution.checkpointing.interval", "1 s");
            conf.setString("restart-strategy.type", "none");
            TableEnvironment env = TableEnvironment.create(EnvironmentSettings.newInstance().inStreamingMode()
                    .withConfiguration(conf).build());
            try (Tail tail = new Tail(kafka.bootstrapServers(), RESULTS)) {
                TableResult result = SqlScript.run(env, statements);
                if (result != null && result.getJobClient().isPresent()) {
                    result.await(10, TimeUnit.MINUTES);
                }
                int rows = tail.awaitRows(requests.size(), Duration.ofSeconds(30));
                System.err.printf("sql: %d result rows for %d requests (%d with an error code)%n", rows,
                        requests.size(), tail.errors());
                return rows == requests.size() ? 0 : 1;
            }
        }
    }

    /** Engine settings for this machine: modest KV cache, short outputs; float32 on one thread for the tiny model. */
    static String modelOptions(boolean tiny) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("enrich.gemma.device-policy", "allow-cpu");
        s.put("enrich.gemma.kv-cache-bytes", String.valueOf(256L << 20));
        s.put("enrich.gemma.target-sequence-length", "1024");
        s.put("enrich.gemma.max-new-tokens", "24");
        if (tiny) {
            s.put("enrich.gemma.precision", "FLOAT32");
            s.put("enrich.gemma.threads", "1");
            s.put("enrich.gemma.model-id", "tiny-random-gemma3");
        }
        return SqlKafka.modelOptions(s);
    }

    private String scriptText() throws IOException {
        if (script != null) {
            return Files.readString(script);
        }
        try (InputStream in = SqlQuickstart.class.getResourceAsStream("/sql/quickstart.sql")) {
            if (in == null) {
                throw new IllegalStateException("sql/quickstart.sql is not on the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Requests of every model, and bad ones: no text, a malformed language tag, a PNG cut short. */
    static List<Map<String, Object>> requests() {
        List<Map<String, Object>> out = new ArrayList<>();
        out.add(request("sql-summarize-1", "summarize", "Apache Flink is a framework and distributed processing "
                + "engine for stateful computations over unbounded and bounded data streams.", null, null));
        out.add(request("sql-summarize-2", "summarize", "Flink SQL runs ML_PREDICT over a model created with CREATE "
                + "MODEL; the gemma provider runs it inside the TaskManager.", null, null));
        out.add(request("sql-translate-pt", "translate", "Good morning, how are you?", "pt-BR", null));
        out.add(request("sql-translate-fr", "translate", "The stream never ends.", "fr", null));
        out.add(request("sql-caption-png", "caption", "What is in this picture?", null, SampleRequests.tinyPng()));
        out.add(request("sql-caption-jpeg", "caption", null, null, SampleRequests.tinyJpeg()));
        out.add(request("sql-no-text", "summarize", null, null, null));
        out.add(request("sql-bad-language", "translate", "x", "english please", null));
        out.add(request("sql-broken-image", "caption", null, null, SampleRequests.brokenPng()));
        return out;
    }

    private static Map<String, Object> request(String id, String task, String text, String lang, byte[] image) {
        Map<String, Object> row = new HashMap<>();
        row.put("id", id);
        row.put("task", task);
        row.put("text", text);
        row.put("lang", lang);
        row.put("image", image);
        return row;
    }

    /** Prints committed result rows as they come ({@code read_committed}), on a thread of its own. */
    static final class Tail implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final AtomicInteger rows = new AtomicInteger();
        private final AtomicInteger errors = new AtomicInteger();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread;

        Tail(String bootstrapServers, String topic) {
            Properties props = new Properties();
            props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            props.put(ConsumerConfig.GROUP_ID_CONFIG, "sql-tail-" + System.nanoTime());
            consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            consumer.subscribe(List.of(topic));
            thread = new Thread(this::run, "sql-result-tail");
            thread.setDaemon(true);
            thread.start();
        }

        private void run() {
            while (!stop.get()) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    String line = new String(r.value(), StandardCharsets.UTF_8);
                    if (!SqlKafka.parse(r.value()).path("error_code").isNull()) {
                        errors.incrementAndGet();
                    }
                    synchronized (System.out) {
                        System.out.println(line);
                        System.out.flush();
                    }
                    rows.incrementAndGet();
                }
            }
        }

        int awaitRows(int expected, Duration grace) throws InterruptedException {
            long deadline = System.nanoTime() + grace.toNanos();
            while (rows.get() < expected && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            return rows.get();
        }

        int errors() {
            return errors.get();
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join(5_000);
            consumer.close();
        }
    }
}
