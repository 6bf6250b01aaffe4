package dev.gemmaflink.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.gemmaflink.runtime.constrain.ByteDfa;
import dev.gemmaflink.runtime.constrain.CompiledConstraint;
import dev.gemmaflink.runtime.constrain.Constraint;
import dev.gemmaflink.runtime.constrain.ConstraintCompiler;
import dev.gemmaflink.runtime.constrain.ConstraintCursor;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.generate.GenerationResult;
import dev.gemmaflink.runtime.generate.Generator;
import dev.gemmaflink.runtime.model.ForwardBatch;
import dev.gemmaflink.runtime.model.ForwardResult;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.KvStorage;
import dev.gemmaflink.runtime.model.LoadProgress;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.model.SequenceCache;
import dev.gemmaflink.runtime.model.TokenMask;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import dev.gemmaflink.runtime.tokenizer.SharedRealTokenizer;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.weights.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Constrained decoding through the engine on a random tiny checkpoint with the real Gemma 3 tokenizer (262,145 ids).
 * Random weights make the property tests strong: nothing but the constraint keeps the output valid. Every output that
 * finishes must parse and validate against its schema with an independent validator (networknt, draft 2020-12);
 * every label output is one of its labels; outputs cut by the token limit are marked incomplete and are still a
 * prefix of a match. Seeded and bounded: a fixed set of generated schemas and label sets.
 */
class ConstrainedGenerationTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SchemaRegistry VALIDATOR = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

    @TempDir
    static Path tmp;
    static GemmaTokenizer tok;
    static GemmaModel model;
    static GemmaEngine engine;

    @BeforeAll
    static void setUp() {
        tok = SharedRealTokenizer.get();
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp.resolve("real"), TinyCheckpointSpec.builder()
                .realTokenizer(true).layers(2).hidden(32).intermediate(64).heads(2).kvHeads(1).headDim(16)
                .window(16).maxPositions(1024).dtype(DType.BF16).seed(23).build());
        model = GemmaModel.load(ckpt.directory(), ModelOptions.builder().threads(1).precision(Precision.FLOAT32).build(),
                LoadProgress.NONE);
        engine = GemmaEngine.builder().model(model, tok).config(EngineConfig.builder().blockSize(16)
                .targetSequenceLength(512).maxTokensPerStep(512).maxBatchSize(16).queueCapacity(256)
                .kvCacheBytes(32L << 20).modelId("tiny-real").build()).build();
    }

    @AfterAll
    static void tearDown() {
        if (engine != null) {
            engine.close();
        }
        if (model != null) {
            model.close();
        }
    }

    private static EngineRequest request(String prompt, Constraint c, long seed, int topK, int maxNewTokens) {
        return EngineRequest.builder().text(prompt).params(GenerationParams.builder().constraint(c).seed(seed)
                .topK(topK).topP(topK == 0 ? 1.0 : 0.95).maxNewTokens(maxNewTokens).build()).build();
    }

    private static EngineResult await(RequestHandle h) throws Exception {
        return h.result().get(5, TimeUnit.MINUTES);
    }

    @Test
    void everyFinishedOutputValidatesAgainstItsGeneratedSchema() throws Exception {
        SplittableRandom rnd = new SplittableRandom(2026);
        List<String> schemas = new ArrayList<>();
        List<Constraint> constraints = new ArrayList<>();
        List<RequestHandle> handles = new ArrayList<>();
        int compiledBefore = engine.constraintCompiler() == null ? 0 : engine.constraintCompiler().size();
        for (int i = 0; i < 14; i++) {
            String schema = JSON.writeValueAsString(randomSchema(rnd, 0));
            schemas.add(schema);
            Constraint c = Constraint.jsonSchema(schema, rnd.nextInt(3));
            constraints.add(c);
            handles.add(engine.submit(request("Extract the fields as JSON: order " + i, c, 100 + i, 0, 160)));
            handles.add(engine.submit(request("Record " + i + " as JSON", c, 200 + i, 64, 160)));
        }
        int complete = 0;
        for (int i = 0; i < handles.size(); i++) {
            String schema = schemas.get(i / 2);
            EngineResult r = await(handles.get(i));
            assertThat(r.finishReason()).as("%s: %s", schema, r).isIn(EngineFinishReason.STOP, EngineFinishReason.LENGTH);
            if (r.finishReason() == EngineFinishReason.STOP) {
                assertThat(r.incomplete()).isFalse();
                JsonNode value = JSON.readTree(r.text());
                Schema validator = VALIDATOR.getSchema(schema);
                assertThat(validator.validate(value)).as("schema %s%noutput %s", schema, r.text()).isEmpty();
                complete++;
            } else {
                assertThat(r.incomplete()).as("%s cut at %d tokens: %s", schema, r.numTokens(), r.text()).isTrue();
                assertThat(r.numTokens()).isEqualTo(160);
                ByteDfa dfa = constraints.get(i / 2).automaton();
                assertThat(dfa.step(dfa.start(), r.text().getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                        .as("a prefix of a match: %s", r.text()).isNotEqualTo(ByteDfa.DEAD);
            }
        }
        assertThat(complete).as("finished outputs of %d", handles.size()).isGreaterThanOrEqualTo(handles.size() * 2 / 3);
        // one compiled form per distinct schema, shared by its two requests
        assertThat(engine.constraintCompiler().size() - compiledBefore).isLessThanOrEqualTo(schemas.size());
    }

    @Test
    void labelOutputsAreAlwaysOneOfTheLabels() throws Exception {
        List<String> pool = List.of("positive", "negative", "neutral", "pos", "négatif", "😀 happy", "spam", "ham",
                "a", "ab", "abc", "yes", "no", "maybe", "\"quoted\"", "two words", "tab\there", "日本語");
        SplittableRandom rnd = new SplittableRandom(7);
        List<List<String>> sets = new ArrayList<>();
        List<RequestHandle> handles = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            Set<String> labels = new LinkedHashSet<>();
            int n = 2 + rnd.nextInt(4);
            while (labels.size() < n) {
                labels.add(pool.get(rnd.nextInt(pool.size())));
            }
            List<String> l = List.copyOf(labels);
            sets.add(l);
            Constraint c = Constraint.choice(l);
            handles.add(engine.submit(request("Classify ticket " + i + ":", c, 300 + i, 0, 32)));
            handles.add(engine.submit(request("Label " + i, c, 400 + i, 64, 32)));
        }
        for (int i = 0; i < handles.size(); i++) {
            EngineResult r = await(handles.get(i));
            assertThat(r.finishReason()).as("%s: %s", sets.get(i / 2), r).isEqualTo(EngineFinishReason.STOP);
            assertThat(r.text()).isIn(sets.get(i / 2));
            assertThat(r.incomplete()).isFalse();
        }
    }

    @Test
    void multiLabelOutputsParseAsDistinctLabelsInTheLabelSetsOrder() throws Exception {
        List<String> pool = List.of("billing", "returns", "a, b", "say \"hi\"", "négatif", "😀 happy", "spam", "x",
                "xy", "back\\slash", "tab\there", "日本語", "[bracket]", "two words");
        SplittableRandom rnd = new SplittableRandom(11);
        List<List<String>> sets = new ArrayList<>();
        List<Integer> maxima = new ArrayList<>();
        List<RequestHandle> handles = new ArrayList<>();
        int several = 0;
        for (int i = 0; i < 10; i++) {
            Set<String> labels = new LinkedHashSet<>();
            int n = 2 + rnd.nextInt(5);
            while (labels.size() < n) {
                labels.add(pool.get(rnd.nextInt(pool.size())));
            }
            List<String> l = List.copyOf(labels);
            int max = 2 + rnd.nextInt(3);
            sets.add(l);
            maxima.add(max);
            Constraint c = Constraint.choice(l, max);
            handles.add(engine.submit(request("Tag ticket " + i + ":", c, 500 + i, 0, 96)));
            handles.add(engine.submit(request("Topics of " + i, c, 600 + i, 64, 96)));
        }
        for (int i = 0; i < handles.size(); i++) {
            List<String> labels = sets.get(i / 2);
            int max = maxima.get(i / 2);
            EngineResult r = await(handles.get(i));
            assertThat(r.finishReason()).as("%s: %s", labels, r).isEqualTo(EngineFinishReason.STOP);
            List<String> chosen = List.of(JSON.readValue(r.text(), String[].class)); // independent of Constraint
            assertThat(chosen).as(r.text()).isNotEmpty().hasSizeLessThanOrEqualTo(max).doesNotHaveDuplicates();
            assertThat(labels).as(r.text()).containsAll(chosen);
            for (int k = 1; k < chosen.size(); k++) {
                assertThat(labels.indexOf(chosen.get(k))).as(r.text())
                        .isGreaterThan(labels.indexOf(chosen.get(k - 1)));
            }
            assertThat(Constraint.choice(labels, max).chosenLabels(r.text())).isEqualTo(chosen);
            several += chosen.size() > 1 ? 1 : 0;
        }
        assertThat(several).as("outputs with more than one label").isPositive();
    }

    /**
     * The output log-probability against a reference computed here: one forward pass over prompt and output with the
     * logits of every position, and in float64 the log softmax over the tokens the constraint allowed at each step
     * (the stop id too when one ended the output). Tolerance 1e-4 on the sum: the engine computes each term in
     * float32 (about 1e-6 each) from incremental decode steps whose logits differ from the full pass in rounding.
     */
    @Test
    void outputLogprobIsTheSumOfLogSoftmaxOverTheAllowedTokens() throws Exception {
        List<Constraint> constraints = List.of(Constraint.choice(List.of("cat", "catalog", "dog", "négatif")),
                Constraint.choice(List.of("billing", "returns", "a, b", "x"), 3),
                Constraint.regex("[a-c]{1,4}"));
        ConstraintCompiler compiler = ConstraintCompiler.forTokenizer(tok, model.config().vocabSize(), Runnable::run);
        int checked = 0;
        for (Constraint c : constraints) {
            for (GenerationParams p : new GenerationParams[] {
                    GenerationParams.builder().constraint(c).temperature(0).maxNewTokens(40).outputLogprob(true).build(),
                    GenerationParams.builder().constraint(c).seed(9).temperature(0.7).topK(8).maxNewTokens(40)
                            .stopIds(1).outputLogprob(true).build()}) {
                String prompt = "Label " + c.key().length() + ":";
                EngineResult r = await(engine.submit(EngineRequest.builder().text(prompt).params(p).build()));
                assertThat(r.finishReason()).as(r.toString()).isEqualTo(EngineFinishReason.STOP);
                double expected = referenceLogprob(compiler.compile(c, p.stopIds()), tok.encode(prompt, true),
                        r.tokens(), p.greedy());
                assertThat(r.outputLogprob()).as("%s %s", c, p).isPresent();
                assertThat(r.outputLogprob().getAsDouble()).as("%s %s", c, p).isCloseTo(expected, within(1e-4));
                assertThat(r.outputProbability().getAsDouble()).isCloseTo(Math.exp(expected), within(1e-4))
                        .isGreaterThan(0).isLessThanOrEqualTo(1);
                try (Generator device = new Generator(model, tok, 0);
                     Generator host = new Generator(model, tok, 0, Generator.DEFAULT_PREFILL_CHUNK,
                             Generator.Sampling.HOST_REFERENCE)) {
                    assertThat(device.generate(prompt, false, p, null).outputLogprob().getAsDouble())
                            .isCloseTo(expected, within(1e-4));
                    assertThat(host.generate(prompt, false, p, null).outputLogprob().getAsDouble())
                            .isCloseTo(expected, within(1e-4));
                }
                checked++;
            }
        }
        assertThat(checked).isEqualTo(6);
        EngineResult plain = await(engine.submit(request("Label", constraints.get(0), 1, 0, 40)));
        assertThat(plain.outputLogprob()).isEmpty();
        assertThat(plain.outputProbability()).isEmpty();
    }

    /** Log-probability of {@code output} after {@code prompt} under the constraint's masks, in float64. */
    private static double referenceLogprob(CompiledConstraint compiled, int[] prompt, int[] output, boolean greedy) {
        int[] all = new int[prompt.length + output.length];
        System.arraycopy(prompt, 0, all, 0, prompt.length);
        System.arraycopy(output, 0, all, prompt.length, output.length);
        ForwardResult logits;
        try (KvStorage kv = model.allocateKv(all.length, all.length)) {
            SequenceCache cache = new SequenceCache(model.config(), 0, all.length);
            logits = model.forward(ForwardBatch.of(cache.append(all, true)), kv);
        }
        ConstraintCursor cursor = compiled.start();
        double sum = 0;
        for (int t = 0; t <= output.length; t++) {
            if (t == output.length && cursor.isClosed()) {
                break; // the constraint ended the output: no stop id was sampled
            }
            float[] row = logits.row(0, prompt.length - 1 + t);
            TokenMask mask = cursor.mask();
            int token;
            if (t < output.length) {
                token = output[t];
            } else { // a stop id ended it: the one the sampler took (greedy: the largest allowed stop logit)
                assertThat(cursor.isAccepting()).isTrue();
                token = -1;
                for (int id : compiled.endIds()) {
                    if (mask.allows(id) && (token < 0 || row[id] > row[token])) {
                        token = id;
                    }
                }
                // which stop id a sampled row drew is not in its result: sampled requests here have one
                assertThat(greedy || compiled.endIds().length == 1).isTrue();
            }
            assertThat(mask.allows(token)).as("token %d at step %d", token, t).isTrue();
            sum += logSoftmax(row, mask, token);
            if (t < output.length) {
                cursor.advance(token);
            }
        }
        return sum;
    }

    private static double logSoftmax(float[] row, TokenMask mask, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (int id = 0; id < row.length; id++) {
            if (mask.allows(id)) {
                max = Math.max(max, row[id]);
            }
        }
        double z = 0;
        for (int id = 0; id < row.length; id++) {
            if (mask.allows(id)) {
                z += Math.exp((double) row[id] - max);
            }
        }
        return row[token] - max - Math.log(z);
    }

    @Test
    void aRequestCutByItsTokenLimitIsIncompleteAndAPrefix() throws Exception {
        String schema = """
                {"type":"object","properties":{"summary":{"type":"string"},"n":{"type":"integer"}},
                 "required":["summary","n"]}""";
        Constraint c = Constraint.jsonSchema(schema);
        EngineResult r = await(engine.submit(request("Summarise", c, 5, 0, 4)));
        assertThat(r.finishReason()).isEqualTo(EngineFinishReason.LENGTH);
        assertThat(r.incomplete()).isTrue();
        assertThat(r.numTokens()).isEqualTo(4);
        ByteDfa dfa = c.automaton();
        assertThat(dfa.step(dfa.start(), r.text().getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .as(r.text()).isNotEqualTo(ByteDfa.DEAD);
        EngineResult free = await(engine.submit(EngineRequest.builder().text("Summarise")
                .params(GenerationParams.builder().seed(5).maxNewTokens(4).stopIds().build()).build()));
        assertThat(free.finishReason()).isEqualTo(EngineFinishReason.LENGTH);
        assertThat(free.incomplete()).isFalse();
    }

    @Test
    void engineMatchesTheSingleSequenceGeneratorUnderAConstraint() throws Exception {
        Constraint c = Constraint.jsonSchema("""
                {"type":"object","properties":{"id":{"type":"string","pattern":"[A-Z]{2}[0-9]{3}"},
                 "qty":{"type":"integer"},"tags":{"type":"array","items":{"type":"string","maxLength":5},"maxItems":2}},
                 "required":["id","qty"]}""");
        for (GenerationParams p : new GenerationParams[] {
                GenerationParams.builder().constraint(c).seed(77).topK(0).topP(1.0).maxNewTokens(80).build(),
                GenerationParams.builder().constraint(c).temperature(0).maxNewTokens(80).build()}) {
            EngineResult e = await(engine.submit(EngineRequest.builder().text("Order:").params(p).build()));
            GenerationResult g;
            GenerationResult host; // the Java reference sampler under the same masks, same noise
            try (Generator gen = new Generator(model, tok, 0);
                 Generator ref = new Generator(model, tok, 0, Generator.DEFAULT_PREFILL_CHUNK,
                         Generator.Sampling.HOST_REFERENCE)) {
                g = gen.generate("Order:", false, p, null);
                host = ref.generate("Order:", false, p, null);
            }
            assertThat(e.tokens()).as(p.toString()).containsExactly(g.tokens());
            assertThat(host.tokens()).as(p.toString()).containsExactly(g.tokens());
            assertThat(e.text()).isEqualTo(g.text());
            assertThat(e.incomplete()).isEqualTo(g.incomplete());
        }
    }

    @Test
    void anEngineWithoutTokenizerRefusesAConstrainedRequestAtSubmit() throws Exception {
        try (GemmaEngine bare = GemmaEngine.builder().model(model, null).config(EngineConfig.builder().blockSize(16)
                .targetSequenceLength(64).maxTokensPerStep(64).kvCacheBytes(8L << 20).modelId("bare").build())
                .build()) {
            EngineResult r = await(bare.submit(EngineRequest.builder().promptIds(2, 100, 200)
                    .params(GenerationParams.builder().constraint(Constraint.choice(List.of("x"))).build()).build()));
            assertThat(r.finishReason()).isEqualTo(EngineFinishReason.ERROR);
            assertThat(r.error().reason()).isEqualTo(EngineError.Reason.INVALID_PROMPT);
            assertThat(r.error().message()).contains("no tokenizer");
        }
    }

    /**
     * A random schema of the supported subset: an object at the top, nested objects, arrays and anyOf below, leaves at
     * depth 2; every string bounded so that outputs can finish.
     */
    static ObjectNode randomSchema(SplittableRandom r, int depth) {
        ObjectNode s = JSON.createObjectNode();
        int kind = depth == 0 ? 0 : depth >= 2 ? 1 + r.nextInt(6) : r.nextInt(9);
        switch (kind) {
            case 0: { // object
                s.put("type", "object");
                ObjectNode props = s.putObject("properties");
                ArrayNode required = JSON.createArrayNode();
                List<String> names = List.of("id", "name", "a b", "quote\"d", "é", "amount", "items", "x");
                int n = 1 + r.nextInt(4);
                Set<String> used = new LinkedHashSet<>();
                while (used.size() < n) {
                    used.add(names.get(r.nextInt(names.size())));
                }
                for (String name : used) {
                    props.set(name, randomSchema(r, depth + 1));
                    if (r.nextInt(3) > 0) {
                        required.add(name);
                    }
                }
                if (!required.isEmpty()) {
                    s.set("required", required);
                }
                if (r.nextBoolean()) {
                    s.put("additionalProperties", false);
                }
                break;
            }
            case 1: { // string
                s.put("type", "string");
                switch (r.nextInt(4)) {
                    case 0: s.put("maxLength", r.nextInt(7)); break;
                    case 1: s.put("minLength", 1); s.put("maxLength", 1 + r.nextInt(4)); break;
                    case 2: s.put("pattern", "^[A-Z]{2}-[0-9]{2,3}$"); break;
                    default: s.put("pattern", "(yes|no|é+)"); s.remove("type"); s.put("type", "string"); break;
                }
                break;
            }
            case 2: s.put("type", "integer"); break;
            case 3: s.put("type", "number"); break;
            case 4: s.put("type", "boolean"); break;
            case 5: { // enum
                ArrayNode e = s.putArray("enum");
                e.add("red");
                e.add("green light");
                e.add(3);
                e.addNull();
                break;
            }
            case 6: { // nullable bounded string
                ArrayNode t = s.putArray("type");
                t.add("string");
                t.add("null");
                s.put("maxLength", 3);
                break;
            }
            case 7: { // array
                s.put("type", "array");
                s.set("items", randomSchema(r, depth + 1));
                s.put("minItems", r.nextInt(2));
                s.put("maxItems", 1 + r.nextInt(3));
                break;
            }
            default: { // anyOf
                ArrayNode any = s.putArray("anyOf");
                any.add(randomSchema(r, depth + 1));
                any.add(randomSchema(r, depth + 1));
                break;
            }
        }
        return s;
    }
}
