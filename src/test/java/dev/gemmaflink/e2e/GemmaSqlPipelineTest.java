package dev.gemmaflink.e2e;

import static dev.gemmaflink.e2e.support.Expectation.deadLetter;
import static dev.gemmaflink.e2e.support.Expectation.result;
import static dev.gemmaflink.e2e.support.Requests.binary;
import static dev.gemmaflink.e2e.support.Requests.request;
import static dev.gemmaflink.e2e.support.Requests.summarize;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import javax.imageio.ImageIO;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.ModelDescriptor;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.ColumnList;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.ExceptionUtils;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.gemmaflink.e2e.support.EngineReference;
import dev.gemmaflink.e2e.support.Expectation;
import dev.gemmaflink.e2e.support.FailOnceAfterCheckpoint;
import dev.gemmaflink.e2e.support.GemmaScenarios;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension.Scenario;
import dev.gemmaflink.e2e.support.PipelineRuns;
import dev.gemmaflink.e2e.support.RequestProducer;
import dev.gemmaflink.e2e.support.RequestProducer.Sent;
import dev.gemmaflink.jobs.local.EmbeddedKafkaCluster;
import dev.gemmaflink.jobs.sql.SqlKafka;
import dev.gemmaflink.operators.sql.GemmaRowException;
import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.engine.EngineMetrics;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.weights.TensorNaming;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * The {@code gemma} model provider end to end, on one embedded broker and one MiniCluster for every test here: Kafka
 * JSON tables, {@code CREATE MODEL ... WITH ('provider' = 'gemma')}, {@code ML_PREDICT} into an exactly-once Kafka
 * table; the same requests through the DataStream job give the same outputs and the same error codes.
 */
class GemmaSqlPipelineTest {

    @RegisterExtension
    static final KafkaFlinkExtension CLUSTER = KafkaFlinkExtension.embeddedKafka();

    @TempDir
    static Path tmp;
    static Path textModel;
    static Path visionModel;

    private static final String OUTPUT_COLUMNS = "finish_reason STRING, prompt_tokens INT, output_tokens INT, "
            + "cached_prompt_tokens INT, model_id STRING, error_code STRING, error_message STRING";
    private static final String RESULT_TABLE = "id STRING, task STRING, output STRING, " + OUTPUT_COLUMNS;

    @BeforeAll
    static void writeCheckpoints() {
        textModel = tmp.resolve("tiny-gemma");
        TinyCheckpointWriter.write(textModel, TinyCheckpointSpec.builder().layers(2).seed(3).maxPositions(512)
                .build());
        visionModel = tmp.resolve("tiny-gemma-mm");
        TinyCheckpointWriter.write(visionModel, TinyCheckpointSpec.builder().layers(2).seed(5).maxPositions(512)
                .scheme(TensorNaming.LANGUAGE_MODEL).vision(new VisionConfig(32, 64, 2, 2, 3, 56, 14, 1e-6))
                .mmTokensPerImage(4).imageTokenIds(6, 7, 262_144).build());
    }

    /** A streaming table environment on the test's MiniCluster: parallelism 2, checkpoints every 500 ms. */
    private static TableEnvironment tableEnvironment() {
        Configuration conf = new Configuration();
        conf.setString("parallelism.default", "2");
        conf.setString("execution.checkpointing.interval", "500 ms");
        conf.setString("restart-strategy.type", "none");
        return TableEnvironment.create(EnvironmentSettings.newInstance().inStreamingMode()
                .withConfiguration(conf).build());
    }

    /** The gemma settings of a scenario, plus a small step budget so prompts prefill over several steps. */
    private static Scenario gemmaScenario(String name, Path model) throws Exception {
        Scenario scenario = GemmaScenarios.configure(CLUSTER.newScenario(name), model);
        scenario.settings().put("enrich.gemma.max-tokens-per-step", "64");
        return scenario;
    }

    /** A JSON request row. */
    private static Map<String, Object> row(String id, String task, String text, String lang) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("id", id);
        row.put("task", task);
        row.put("text", text);
        row.put("lang", lang);
        return row;
    }

    private static Map<String, JsonNode> byId(List<JsonNode> rows) {
        Map<String, Long> counts = rows.stream().collect(Collectors.groupingBy(r -> r.get("id").asText(),
                Collectors.counting()));
        assertThat(counts).as("committed rows per id (exactly once)").allSatisfy((id, n) -> assertThat(n)
                .as(id).isEqualTo(1L));
        return rows.stream().collect(Collectors.toMap(r -> r.get("id").asText(), Function.identity()));
    }

    private static String text(JsonNode row, String field) {
        JsonNode v = row.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    @Test
    void mlPredictGivesTheDataStreamJobsOutputsBatchedInOneEngineExactlyOnce() throws Exception {
        // The same requests through the DataStream job first.
        Scenario job = gemmaScenario("sql-vs-job", textModel);
        String longText = "many words ".repeat(400);
        List<EnrichmentRequest> requests = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            requests.add(summarize("sum-" + i, "Document number " + i + " talks about streams."));
        }
        for (int i = 0; i < 8; i++) {
            requests.add(request("tr-" + i, "TRANSLATE").setText("good morning " + i)
                    .setTargetLanguage(i % 2 == 0 ? "fr" : "pt-BR").build());
        }
        EnrichmentRequest noText = request("no-text", "SUMMARIZE").build();
        EnrichmentRequest badLanguage = request("bad-lang", "TRANSLATE").setText("x").setTargetLanguage("en_US")
                .build();
        EnrichmentRequest tooLong = summarize("too-long", longText);
        Map<String, ErrorCode> bad = Map.of("no-text", ErrorCode.MISSING_TEXT, "bad-lang", ErrorCode.INVALID_LANGUAGE,
                "too-long", ErrorCode.PROMPT_TOO_LONG);
        List<Expectation> inputs = new ArrayList<>();
        for (EnrichmentRequest r : requests) {
            inputs.add(result(binary(r), r.getRequestId(), null));
        }
        for (EnrichmentRequest r : List.of(noText, badLanguage, tooLong)) {
            inputs.add(deadLetter(binary(r), r.getRequestId(), bad.get(r.getRequestId())));
        }
        List<Sent> sent = RequestProducer.send(CLUSTER.bootstrapServers(), job.requestTopics(), inputs);
        PipelineRuns.runToCompletion(job, null);
        List<EnrichmentResult> jobResults = PipelineRuns.assertExactlyOneOutcomeEach(CLUSTER, job, sent, job.id());
        Map<String, EngineReference.Expected> expected = jobResults.stream().collect(Collectors.toMap(
                EnrichmentResult::getRequestId, EngineReference.Expected::of));
        Map<String, String> jobCodes = CLUSTER.readCommitted(job.deadLetterTopic(), WireCodec.deadLetters()).stream()
                .collect(Collectors.toMap(d -> d.getRequestId().toString(), DeadLetter::getErrorCode));
        assertThat(jobCodes).containsExactlyInAnyOrderEntriesOf(Map.of("no-text", "MISSING_TEXT",
                "bad-lang", "INVALID_LANGUAGE", "too-long", "PROMPT_TOO_LONG"));

        // Then through SQL: a summarizer and a translator with the job's engine settings, one statement set.
        String id = job.id() + "-sql";
        String in = id + "-requests";
        String out = id + "-results";
        EmbeddedKafkaCluster.createTopics(CLUSTER.bootstrapServers(), 2, List.of(in));
        EmbeddedKafkaCluster.createTopics(CLUSTER.bootstrapServers(), 1, List.of(out));
        List<Map<String, Object>> rows = new ArrayList<>();
        for (EnrichmentRequest r : requests) {
            rows.add(row(r.getRequestId(), r.getTask(), r.getText(), r.getTargetLanguage()));
        }
        rows.add(row("no-text", "SUMMARIZE", null, null));
        rows.add(row("bad-lang", "TRANSLATE", "x", "en_US"));
        rows.add(row("too-long", "SUMMARIZE", longText, null));
        SqlKafka.send(CLUSTER.bootstrapServers(), in, rows);

        Map<String, String> settings = new LinkedHashMap<>(job.settings());
        settings.put("enrich.gemma.model-id", id);
        String options = SqlKafka.modelOptions(settings);
        TableEnvironment t = tableEnvironment();
        t.executeSql(SqlKafka.sourceTable("requests", "id STRING, task STRING, text STRING, lang STRING", in,
                CLUSTER.bootstrapServers(), id));
        t.executeSql(SqlKafka.exactlyOnceSinkTable("results", RESULT_TABLE, out, CLUSTER.bootstrapServers(), id));
        t.executeSql("CREATE TEMPORARY MODEL summarizer INPUT (text STRING) OUTPUT (summary STRING, "
                + OUTPUT_COLUMNS + ") WITH ('provider' = 'gemma', 'task' = 'summarize', " + options + ")");
        t.executeSql("CREATE TEMPORARY MODEL translator INPUT (text STRING, target_language STRING) OUTPUT ("
                + "translated STRING, " + OUTPUT_COLUMNS + ") WITH ('provider' = 'gemma', 'task' = 'translate', "
                + options + ")");
        t.executeSql("CREATE TEMPORARY VIEW to_summarize AS SELECT id, task, text FROM requests "
                + "WHERE task = 'SUMMARIZE'");
        t.executeSql("CREATE TEMPORARY VIEW to_translate AS SELECT id, task, text, lang FROM requests "
                + "WHERE task = 'TRANSLATE'");
        String config = "MAP['max-concurrent-operations', '16', 'output-mode', 'allow_unordered']";
        TableResult insert = t.executeSql("EXECUTE STATEMENT SET BEGIN "
                + "INSERT INTO results SELECT id, task, summary, finish_reason, prompt_tokens, output_tokens, "
                + "cached_prompt_tokens, model_id, error_code, error_message FROM ML_PREDICT(TABLE to_summarize, "
                + "MODEL summarizer, DESCRIPTOR(text), " + config + "); "
                + "INSERT INTO results SELECT id, task, translated, finish_reason, prompt_tokens, output_tokens, "
                + "cached_prompt_tokens, model_id, error_code, error_message FROM ML_PREDICT(TABLE to_translate, "
                + "MODEL translator, DESCRIPTOR(text, lang), " + config + "); END");
        insert.await(3, java.util.concurrent.TimeUnit.MINUTES);

        Map<String, JsonNode> sql = byId(SqlKafka.readCommitted(CLUSTER.bootstrapServers(), out,
                Duration.ofSeconds(60)));
        assertThat(sql).as("one committed row per request").hasSize(rows.size());
        for (Map.Entry<String, EngineReference.Expected> e : expected.entrySet()) {
            JsonNode r = sql.get(e.getKey());
            assertThat(new EngineReference.Expected(text(r, "output"), r.get("output_tokens").asInt(),
                    text(r, "finish_reason"), r.get("prompt_tokens").asInt()))
                    .as("ML_PREDICT row of %s against the DataStream job's result", e.getKey())
                    .isEqualTo(e.getValue());
            assertThat(text(r, "error_code")).isNull();
            assertThat(text(r, "model_id")).isEqualTo(id);
        }
        for (Map.Entry<String, ErrorCode> e : bad.entrySet()) {
            JsonNode r = sql.get(e.getKey());
            assertThat(text(r, "error_code")).as("error code of %s (%s)", e.getKey(), text(r, "error_message"))
                    .isEqualTo(e.getValue().name());
            assertThat(text(r, "error_message")).isNotBlank();
            assertThat(text(r, "output")).isNull();
            assertThat(text(r, "finish_reason")).isEqualTo("ERROR");
        }

        // Both models' rows of both subtasks went through one shared engine, batched, with prefix-cache hits.
        EngineMetrics m = GemmaScenarios.finalMetrics(new Scenario(id, List.of(), out, out, Map.of()));
        assertThat(m.completed()).as("rows the engine completed").isEqualTo(requests.size() + 1);
        assertThat(m.meanBatchSize()).as("mean batch of the shared engine").isGreaterThan(1.0);
        assertThat(m.prefixHitTokens()).as("prompt tokens served from the prefix cache").isPositive();
        assertThat(sql.values().stream().filter(r -> r.get("cached_prompt_tokens").asInt() > 0).count())
                .as("rows whose instruction prefix was cached").isPositive();
    }

    @Test
    void aFailureAfterACheckpointStillGivesExactlyOneRowPerRequestWithTheSameOutputs() throws Exception {
        Scenario job = gemmaScenario("sql-failover", textModel);
        String id = job.id();
        String in = id + "-json";
        String out = id + "-rows";
        EmbeddedKafkaCluster.createTopics(CLUSTER.bootstrapServers(), 2, List.of(in));
        EmbeddedKafkaCluster.createTopics(CLUSTER.bootstrapServers(), 1, List.of(out));
        List<EnrichmentRequest> requests = new ArrayList<>();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            EnrichmentRequest r = summarize("r-" + i, "text " + i);
            requests.add(r);
            rows.add(row(r.getRequestId(), r.getTask(), r.getText(), null));
        }
        SqlKafka.send(CLUSTER.bootstrapServers(), in, rows);

        // The Table API over a DataStream environment: the requests pass a map that fails the job once after a
        // checkpoint completed (chained to the source), then ML_PREDICT into the exactly-once Kafka table.
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        env.enableCheckpointing(500);
        Configuration restart = new Configuration();
        restart.setString("restart-strategy.type", "fixed-delay");
        restart.setString("restart-strategy.fixed-delay.attempts", "3");
        restart.setString("restart-strategy.fixed-delay.delay", "200 ms");
        env.configure(restart);
        StreamTableEnvironment t = StreamTableEnvironment.create(env);
        t.executeSql(SqlKafka.sourceTable("requests", "id STRING, task STRING, text STRING, lang STRING", in,
                CLUSTER.bootstrapServers(), id));
        t.executeSql(SqlKafka.exactlyOnceSinkTable("results", RESULT_TABLE, out, CLUSTER.bootstrapServers(), id));
        DataStream<Row> source = t.toDataStream(t.from("requests"));
        t.createTemporaryView("failing", t.fromDataStream(source.map(new FailOnceAfterCheckpoint<Row>(id, 20))
                .returns(source.getType())));
        t.executeSql("CREATE TEMPORARY MODEL summarizer INPUT (text STRING) OUTPUT (summary STRING, "
                + OUTPUT_COLUMNS + ") WITH ('provider' = 'gemma', 'task' = 'summarize', "
                + SqlKafka.modelOptions(job.settings()) + ")");
        t.executeSql("INSERT INTO results SELECT id, task, summary, finish_reason, prompt_tokens, output_tokens, "
                + "cached_prompt_tokens, model_id, error_code, error_message FROM ML_PREDICT(TABLE failing, "
                + "MODEL summarizer, DESCRIPTOR(text), MAP['max-concurrent-operations', '16'])")
                .await(3, java.util.concurrent.TimeUnit.MINUTES);

        assertThat(FailOnceAfterCheckpoint.failed(id)).as("the failure was injected").isTrue();
        assertThat(FailOnceAfterCheckpoint.highestAttempt(id)).as("the job restarted").isPositive();
        Map<String, JsonNode> sql = byId(SqlKafka.readCommitted(CLUSTER.bootstrapServers(), out,
                Duration.ofSeconds(60)));
        assertThat(sql.keySet()).as("one committed row per request").containsExactlyInAnyOrderElementsOf(
                requests.stream().map(r -> r.getRequestId().toString()).toList());
        // Rows replayed after the restore produce what the engine alone produces for them.
        Map<String, EngineReference.Expected> expected = EngineReference.expected(job.settings(), requests);
        for (Map.Entry<String, EngineReference.Expected> e : expected.entrySet()) {
            JsonNode r = sql.get(e.getKey());
            assertThat(new EngineReference.Expected(text(r, "output"), r.get("output_tokens").asInt(),
                    text(r, "finish_reason"), r.get("prompt_tokens").asInt())).as("row of %s", e.getKey())
                    .isEqualTo(e.getValue());
        }
    }

    private static byte[] picture(String format, Color color, int width, int height) throws Exception {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(color);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.WHITE);
        g.fillOval(width / 4, height / 4, width / 2, height / 2);
        g.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ImageIO.write(img, format, out)).isTrue();
        return out.toByteArray();
    }

    @Test
    void theTableApiModelDescriptorRouteCaptionsImagesAndGivesBadImagesTheirCode() throws Exception {
        Scenario job = gemmaScenario("sql-caption", visionModel);
        String id = job.id();
        String in = id + "-images";
        String out = id + "-captions";
        EmbeddedKafkaCluster.createTopics(CLUSTER.bootstrapServers(), 2, List.of(in));
        EmbeddedKafkaCluster.createTopics(CLUSTER.bootstrapServers(), 1, List.of(out));
        byte[] png = picture("png", Color.RED, 80, 60);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            rows.add(Map.of("id", "png-" + i, "image", picture("png", new Color(40 * i, 80, 200), 80, 60)));
            rows.add(Map.of("id", "jpg-" + i, "image", picture("jpeg", new Color(200, 40 * i, 80), 60, 90)));
        }
        rows.add(Map.of("id", "cut-short", "image", Arrays.copyOf(png, 60)));
        Map<String, Object> none = new HashMap<>();
        none.put("id", "no-image");
        none.put("image", null);
        rows.add(none);
        rows.add(Map.of("id", "not-an-image", "image", "plain text".getBytes()));
        SqlKafka.send(CLUSTER.bootstrapServers(), in, rows);

        TableEnvironment t = tableEnvironment();
        t.executeSql(SqlKafka.sourceTable("images", "id STRING, image BYTES", in, CLUSTER.bootstrapServers(), id));
        t.executeSql(SqlKafka.exactlyOnceSinkTable("captions", "id STRING, caption STRING, output_tokens INT, "
                + "error_code STRING, error_message STRING", out, CLUSTER.bootstrapServers(), id));
        ModelDescriptor.Builder descriptor = ModelDescriptor.forProvider("gemma")
                .inputSchema(Schema.newBuilder().column("image", DataTypes.BYTES()).build())
                .outputSchema(Schema.newBuilder().column("caption", DataTypes.STRING())
                        .column("output_tokens", DataTypes.INT()).column("error_code", DataTypes.STRING())
                        .column("error_message", DataTypes.STRING()).build())
                .option("task", "caption");
        job.settings().forEach((k, v) -> {
            if (k.startsWith("enrich.gemma.")) {
                descriptor.option(k.substring("enrich.gemma.".length()), v);
            }
        });
        t.createTemporaryModel("captioner", descriptor.build());
        Table captions = t.fromModel("captioner").predict(t.from("images"), ColumnList.of("image"),
                Map.of("max-concurrent-operations", "16"));
        captions.select(org.apache.flink.table.api.Expressions.$("id"), org.apache.flink.table.api.Expressions
                        .$("caption"), org.apache.flink.table.api.Expressions.$("output_tokens"),
                org.apache.flink.table.api.Expressions.$("error_code"),
                org.apache.flink.table.api.Expressions.$("error_message"))
                .executeInsert("captions").await(3, java.util.concurrent.TimeUnit.MINUTES);

        Map<String, JsonNode> sql = byId(SqlKafka.readCommitted(CLUSTER.bootstrapServers(), out,
                Duration.ofSeconds(60)));
        assertThat(sql).hasSize(rows.size());
        for (int i = 0; i < 4; i++) {
            for (String p : List.of("png-", "jpg-")) {
                JsonNode r = sql.get(p + i);
                assertThat(text(r, "error_code")).as("%s%d: %s", p, i, text(r, "error_message")).isNull();
                assertThat(r.get("output_tokens").asInt()).isEqualTo(4);
                assertThat(text(r, "caption")).isNotNull();
            }
        }
        assertThat(text(sql.get("cut-short"), "error_code")).isEqualTo("IMAGE_UNREADABLE");
        assertThat(text(sql.get("no-image"), "error_code")).isEqualTo("MISSING_IMAGE");
        assertThat(text(sql.get("not-an-image"), "error_code")).isEqualTo("UNSUPPORTED_MEDIA_TYPE");
        assertThat(GemmaScenarios.finalMetrics(job).completed()).as("images the engine captioned or refused")
                .isEqualTo(9);
    }

    @Test
    void rowsRefusedByAFullEngineQueueAreSubmittedAgainUntilServed() throws Exception {
        Scenario job = gemmaScenario("sql-queue", textModel);
        Map<String, String> settings = new LinkedHashMap<>(job.settings());
        settings.put("enrich.gemma.queue-capacity", "1");
        TableEnvironment t = tableEnvironment();
        StringBuilder values = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            values.append(i == 0 ? "" : ", ").append("('q").append(i).append("', 'Queued text ").append(i)
                    .append(".')");
        }
        t.executeSql("CREATE TEMPORARY VIEW docs AS SELECT * FROM (VALUES " + values + ") AS v(id, text)");
        t.executeSql("CREATE TEMPORARY MODEL summarizer INPUT (text STRING) OUTPUT (summary STRING, "
                + "error_code STRING) WITH ('provider' = 'gemma', 'task' = 'summarize', "
                + SqlKafka.modelOptions(settings) + ")");
        List<Row> got = new ArrayList<>();
        try (CloseableIterator<Row> it = t.executeSql("SELECT id, summary, error_code FROM ML_PREDICT(TABLE docs, "
                + "MODEL summarizer, DESCRIPTOR(text), MAP['max-concurrent-operations', '16'])").collect()) {
            it.forEachRemaining(got::add);
        }
        assertThat(got).hasSize(12).allSatisfy(r -> assertThat(r.getField(2)).as("error of %s", r.getField(0))
                .isNull());
        EngineMetrics m = GemmaScenarios.finalMetrics(job);
        assertThat(m.rejected()).as("submits refused by the full queue").isPositive();
        assertThat(m.completed()).isEqualTo(12);
    }

    @Test
    void synchronousPredictionWorksAndFailModeFailsTheJobOnABadRow() throws Exception {
        Scenario job = gemmaScenario("sql-sync", textModel);
        String options = SqlKafka.modelOptions(job.settings());
        TableEnvironment t = tableEnvironment();
        t.executeSql("CREATE TEMPORARY VIEW docs AS SELECT * FROM (VALUES ('d1', 'Streams are tables.'), "
                + "('d2', 'Tables are streams.')) AS v(id, text)");
        t.executeSql("CREATE TEMPORARY MODEL summarizer INPUT (text STRING) OUTPUT (summary STRING, "
                + "output_tokens BIGINT) WITH ('provider' = 'gemma', 'task' = 'summarize', 'error-handling' = "
                + "'fail', " + options + ")");
        List<Row> got = new ArrayList<>();
        try (CloseableIterator<Row> it = t.executeSql("SELECT id, summary, output_tokens FROM ML_PREDICT(TABLE "
                + "docs, MODEL summarizer, DESCRIPTOR(text), MAP['async', 'false'])").collect()) {
            it.forEachRemaining(got::add);
        }
        assertThat(got).extracting(r -> r.getField(0)).containsExactlyInAnyOrder("d1", "d2");
        assertThat(got).allSatisfy(r -> assertThat(r.getField(2)).isEqualTo(4L));

        t.executeSql("CREATE TEMPORARY VIEW bad AS SELECT * FROM (VALUES ('d3', CAST(NULL AS STRING))) "
                + "AS v(id, text)");
        assertThatThrownBy(() -> {
            try (CloseableIterator<Row> it = t.executeSql("SELECT id, summary FROM ML_PREDICT(TABLE bad, "
                    + "MODEL summarizer, DESCRIPTOR(text))").collect()) {
                it.forEachRemaining(r -> { });
            }
        }).satisfies(e -> assertThat(ExceptionUtils.findThrowable(e, GemmaRowException.class))
                .as("the row's failure in %s", ExceptionUtils.stringifyException(e))
                .hasValueSatisfying(g -> assertThat(g.code()).isEqualTo(ErrorCode.MISSING_TEXT)));

        // The predict subtask reads its slot's 'gpu' resources as the DataStream job does: none here.
        t.executeSql("CREATE TEMPORARY MODEL on_gpu INPUT (text STRING) OUTPUT (summary STRING) WITH ('provider' = "
                + "'gemma', 'task' = 'summarize', 'error-handling' = 'fail', " + options
                + ", 'device-policy' = 'require-gpu')");
        assertThatThrownBy(() -> {
            try (CloseableIterator<Row> it = t.executeSql("SELECT id, summary FROM ML_PREDICT(TABLE docs, "
                    + "MODEL on_gpu, DESCRIPTOR(text))").collect()) {
                it.forEachRemaining(r -> { });
            }
        }).satisfies(e -> assertThat(ExceptionUtils.stringifyException(e))
                .contains("device-policy is require-gpu but this slot got no 'gpu' external resource"));
    }

    @Test
    void classifyAndExtractModelsOutputALabelAndValidJsonAndIncompleteJsonIsAnErrorRow() throws Exception {
        Scenario job = gemmaScenario("sql-structured", textModel);
        Map<String, String> settings = new LinkedHashMap<>(job.settings());
        settings.put("enrich.gemma.max-new-tokens", "48");
        String options = SqlKafka.modelOptions(settings);
        TableEnvironment t = tableEnvironment();
        t.executeSql("CREATE TEMPORARY VIEW tickets AS SELECT * FROM (VALUES ('t1', 'Where is my parcel?'), "
                + "('t2', 'Refund order AB12 please.'), ('t3', 'Great service.')) AS v(id, text)");
        t.executeSql("CREATE TEMPORARY MODEL tagger INPUT (text STRING) OUTPUT (label STRING, error_code STRING) "
                + "WITH ('provider' = 'gemma', 'task' = 'classify', 'labels' = 'billing;shipping;praise', "
                + options + ")");
        String schema = "{\"type\":\"object\",\"properties\":{\"refund\":{\"type\":\"boolean\"},"
                + "\"team\":{\"enum\":[\"a\",\"b\"]}},\"required\":[\"refund\",\"team\"],"
                + "\"additionalProperties\":false}";
        t.executeSql("CREATE TEMPORARY MODEL extractor INPUT (text STRING) OUTPUT (json STRING, error_code STRING) "
                + "WITH ('provider' = 'gemma', 'task' = 'extract', 'output-schema' = '" + schema + "', "
                + options + ")");
        t.executeSql("CREATE TEMPORARY MODEL cut INPUT (text STRING) OUTPUT (json STRING, error_code STRING) "
                + "WITH ('provider' = 'gemma', 'task' = 'extract', 'output-schema' = '" + schema + "', "
                + options.replace("'max-new-tokens' = '48'", "'max-new-tokens' = '2'") + ")");
        List<Row> labels = collect(t, "SELECT id, label, error_code FROM ML_PREDICT(TABLE tickets, MODEL tagger, "
                + "DESCRIPTOR(text))");
        assertThat(labels).hasSize(3).allSatisfy(r -> {
            assertThat(r.getField(2)).isNull();
            assertThat(r.getField(1)).isIn("billing", "shipping", "praise");
        });
        t.executeSql("CREATE TEMPORARY MODEL topics INPUT (text STRING) OUTPUT (tags STRING, labels ARRAY<STRING>, "
                + "probability DOUBLE, error_code STRING) WITH ('provider' = 'gemma', 'task' = 'classify', "
                + "'labels' = 'billing;shipping;praise', 'max-labels' = '2', " + options + ")");
        List<Row> topics = collect(t, "SELECT id, tags, labels, probability, error_code FROM ML_PREDICT(TABLE "
                + "tickets, MODEL topics, DESCRIPTOR(text))");
        List<String> topicLabels = List.of("billing", "shipping", "praise");
        assertThat(topics).hasSize(3).allSatisfy(r -> {
            assertThat(r.getField(4)).isNull();
            List<String> parsed = List.of(new com.fasterxml.jackson.databind.ObjectMapper()
                    .readValue((String) r.getField(1), String[].class));
            assertThat((String[]) r.getField(2)).containsExactlyElementsOf(parsed);
            assertThat(parsed).isNotEmpty().hasSizeLessThanOrEqualTo(2).doesNotHaveDuplicates()
                    .isSortedAccordingTo(java.util.Comparator.comparingInt(topicLabels::indexOf));
            assertThat(topicLabels).containsAll(parsed);
            assertThat((Double) r.getField(3)).isGreaterThan(0.0).isLessThanOrEqualTo(1.0);
        });
        List<Row> json = collect(t, "SELECT id, json, error_code FROM ML_PREDICT(TABLE tickets, MODEL extractor, "
                + "DESCRIPTOR(text))");
        com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        assertThat(json).hasSize(3);
        for (Row r : json) {
            assertThat(r.getField(2)).isNull();
            var node = mapper.readTree((String) r.getField(1));
            assertThat(node.size()).isEqualTo(2);
            assertThat(node.get("refund").isBoolean()).isTrue();
            assertThat(node.get("team").asText()).isIn("a", "b");
        }
        List<Row> cut = collect(t, "SELECT id, json, error_code FROM ML_PREDICT(TABLE tickets, MODEL cut, "
                + "DESCRIPTOR(text))");
        assertThat(cut).hasSize(3).allSatisfy(r -> {
            assertThat(r.getField(1)).isNull();
            assertThat(r.getField(2)).isEqualTo("OUTPUT_INCOMPLETE");
        });
        t.executeSql("CREATE TEMPORARY MODEL bad INPUT (text STRING) OUTPUT (json STRING, error_code STRING) "
                + "WITH ('provider' = 'gemma', 'task' = 'extract', 'output-schema' = "
                + "'{\"type\":\"integer\",\"minimum\":1}', " + options + ")");
        // The provider is built when a statement uses the model: planning fails, naming the keyword.
        assertThatThrownBy(() -> collect(t, "SELECT id, json FROM ML_PREDICT(TABLE tickets, MODEL bad, "
                + "DESCRIPTOR(text))"))
                .satisfies(e -> assertThat(ExceptionUtils.stringifyException(e)).contains("'output-schema': ")
                        .contains("minimum"));
    }

    private static List<Row> collect(TableEnvironment t, String query) throws Exception {
        List<Row> got = new ArrayList<>();
        try (CloseableIterator<Row> it = t.executeSql(query).collect()) {
            it.forEachRemaining(got::add);
        }
        return got;
    }
}
