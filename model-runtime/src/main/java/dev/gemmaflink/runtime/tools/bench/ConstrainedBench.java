package dev.gemmaflink.runtime.tools.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmaflink.runtime.constrain.CompiledConstraint;
import dev.gemmaflink.runtime.constrain.Constraint;
import dev.gemmaflink.runtime.constrain.ConstraintCompiler;
import dev.gemmaflink.runtime.engine.EngineConfig;
import dev.gemmaflink.runtime.engine.EngineFinishReason;
import dev.gemmaflink.runtime.engine.EngineRequest;
import dev.gemmaflink.runtime.engine.EngineResult;
import dev.gemmaflink.runtime.engine.GemmaEngine;
import dev.gemmaflink.runtime.engine.RequestHandle;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.model.TokenMask;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Constrained decoding benchmark (a program, not a test); one JSON line per measurement.
 *
 * <ul>
 *   <li>{@code --compile-only true}: the cost of compiling a JSON Schema over a checkpoint's vocabulary: the token
 *       trie (once per vocabulary), the byte automaton (once per schema), and the token masks of every automaton
 *       state computed up front (generation computes them lazily, only for the states it reaches, off the engine
 *       thread), with the mean time of one mask.</li>
 *   <li>otherwise, also decode throughput with the schema against without, per concurrency C: C requests of
 *       {@code --prompt-len} random tokens, sampled (temperature 1, seeded), {@code --gen-len} tokens, no stop ids;
 *       aggregate tokens/s over the window in which all C were decoding (per-token timestamps, as
 *       {@code EngineBench}). After an unprinted warm-up at that concurrency, constrained runs once with no mask
 *       cached (every state met is new), then {@code --rounds} times free and constrained alternately (masks of the
 *       earlier runs cached, as for a schema in steady use).</li>
 * </ul>
 *
 * <pre>
 * constrained-bench --model DIR [--schema FILE] [--concurrency 1,16] [--gen-len 32] [--rounds 3] [--precision bf16]
 * </pre>
 *
 * Without {@code --schema} the 20-property schema {@link #TWENTY_PROPERTIES} is used.
 */
public final class ConstrainedBench {

    /** A 20-property extraction schema: strings (bounded, patterned, enumerated), numbers, arrays, a nested object. */
    public static final String TWENTY_PROPERTIES = """
            {"type": "object", "additionalProperties": false, "properties": {
              "order_id": {"type": "string", "pattern": "[A-Z]{2}-[0-9]{6}"},
              "customer_name": {"type": "string", "maxLength": 40},
              "customer_email": {"type": "string", "maxLength": 64},
              "amount": {"type": "number"},
              "currency": {"enum": ["EUR", "USD", "GBP", "CHF", "JPY"]},
              "quantity": {"type": "integer"},
              "express": {"type": "boolean"},
              "discount_code": {"type": ["string", "null"], "maxLength": 16},
              "status": {"enum": ["new", "paid", "shipped", "delivered", "cancelled", "refunded"]},
              "order_date": {"type": "string", "pattern": "[0-9]{4}-[0-9]{2}-[0-9]{2}"},
              "items": {"type": "array", "items": {"type": "string", "maxLength": 24}, "maxItems": 5},
              "shipping_address": {"type": "object", "properties": {
                  "street": {"type": "string", "maxLength": 48},
                  "city": {"type": "string", "maxLength": 32},
                  "postcode": {"type": "string", "maxLength": 10},
                  "country": {"type": "string", "pattern": "[A-Z]{2}"}},
                "required": ["street", "city", "country"]},
              "phone": {"type": ["string", "null"], "pattern": "\\\\+?[0-9 ]{6,16}"},
              "gift": {"type": "boolean"},
              "gift_message": {"type": "string", "maxLength": 80},
              "weight_kg": {"type": "number"},
              "priority": {"type": "integer"},
              "tags": {"type": "array", "items": {"enum": ["vip", "fraud-check", "b2b", "repeat"]}, "maxItems": 4},
              "notes": {"type": "string", "maxLength": 120},
              "confidence": {"type": "number"}},
             "required": ["order_id", "customer_name", "amount", "currency", "status", "items"]}""";

    private static final ObjectMapper JSON = new ObjectMapper();

    private ConstrainedBench() {
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> a = BenchArgs.parse(argv);
        Path model = Path.of(BenchArgs.require(a, "model", ""));
        String schemaText = a.containsKey("schema") ? Files.readString(Path.of(a.get("schema"))) : TWENTY_PROPERTIES;
        Constraint schema = Constraint.jsonSchema(schemaText);
        compileCost(model, schema);
        if (Boolean.parseBoolean(a.getOrDefault("compile-only", "false"))) {
            return;
        }
        int[] concurrency = Arrays.stream(a.getOrDefault("concurrency", "1,16").split(","))
                .mapToInt(s -> Integer.parseInt(s.trim())).toArray();
        int promptLen = Integer.parseInt(a.getOrDefault("prompt-len", "32"));
        int genLen = Integer.parseInt(a.getOrDefault("gen-len", "32"));
        int maxC = Arrays.stream(concurrency).max().orElse(1);
        EngineConfig config = EngineConfig.builder()
                .precision(Precision.parse(a.getOrDefault("precision", "bf16")))
                .device(a.getOrDefault("device", "cpu")).threads(Integer.parseInt(a.getOrDefault("threads", "0")))
                .kvCacheBytes(Long.parseLong(a.getOrDefault("kv-bytes", String.valueOf(1L << 30))))
                .blockSize(16).targetSequenceLength(1024).maxTokensPerStep(2048).maxBatchSize(maxC)
                .queueCapacity(Math.max(64, 2 * maxC)).build();
        try (GemmaEngine engine = GemmaEngine.builder().modelDir(model).config(config).build()) {
            int vocab = Math.min(engine.model().config().vocabSize(), 200_000);
            run(engine, 1, 8, 4, null, vocab, "warm-up"); // not printed
            int rounds = Integer.parseInt(a.getOrDefault("rounds", "3"));
            for (int c : concurrency) {
                run(engine, c, promptLen, genLen, null, vocab, "warm-up"); // this batch size's first steps: not printed
                // The same schema under a fresh key (an annotation differs), so the first run starts with no mask.
                ObjectNode tagged = (ObjectNode) JSON.readTree(schemaText);
                tagged.put("$comment", "constrained-bench run " + c + " " + System.nanoTime());
                Constraint cold = Constraint.jsonSchema(JSON.writeValueAsString(tagged));
                System.out.println(run(engine, c, promptLen, genLen, cold, vocab, "json_schema_cold_masks"));
                for (int r = 0; r < rounds; r++) { // alternate, so that drift in the machine's load hits both
                    System.out.println(run(engine, c, promptLen, genLen, null, vocab, "free"));
                    System.out.println(run(engine, c, promptLen, genLen, cold, vocab, "json_schema_warm_masks"));
                    System.out.flush();
                }
            }
        }
    }

    /** Trie, automaton and all-masks cost of the schema over the checkpoint's vocabulary. */
    private static void compileCost(Path model, Constraint schema) throws Exception {
        long t0 = System.nanoTime();
        try (GemmaTokenizer tok = GemmaTokenizer.load(model)) {
            long t1 = System.nanoTime();
            ConstraintCompiler compiler = ConstraintCompiler.forTokenizer(tok, Runnable::run);
            long t2 = System.nanoTime();
            CompiledConstraint c = compiler.compile(schema, tok.stopIds());
            long t3 = System.nanoTime();
            int states = c.precomputeAllMasks();
            long t4 = System.nanoTime();
            long dense = 0;
            for (int s = 0; s < states; s++) {
                TokenMask m = c.mask(s);
                if (m != null && m.cardinality() * 32L >= m.vocabSize()) {
                    dense++;
                }
            }
            ObjectNode o = JSON.createObjectNode();
            o.put("bench", "constraint_compile");
            o.put("vocab_size", tok.vocabSize());
            o.put("tokenizer_load_s", BenchArgs.round((t1 - t0) / 1e9));
            o.put("trie_build_ms", BenchArgs.round((t2 - t1) / 1e6));
            o.put("trie_nodes", compiler.trie().numNodes());
            o.put("schema_properties", JSON.readTree(schema.key().substring(schema.key().indexOf('{')))
                    .path("properties").size());
            o.put("automaton_compile_ms", BenchArgs.round((t3 - t2) / 1e6));
            o.put("automaton_states", c.automaton().numStates());
            o.put("automaton_byte_classes", c.automaton().numClasses());
            o.put("all_masks_ms", BenchArgs.round((t4 - t3) / 1e6));
            o.put("mask_mean_ms", BenchArgs.round((t4 - t3) / 1e6 / states));
            o.put("dense_masks", dense);
            o.put("distinct_masks", c.distinctMasks());
            o.put("mask_bytes", c.maskBytes());
            o.put("schema_total_ms_all_masks", BenchArgs.round((t4 - t2) / 1e6));
            o.put("threads_available", Runtime.getRuntime().availableProcessors());
            System.out.println(JSON.writeValueAsString(o));
            System.out.flush();
        }
    }

    private static String run(GemmaEngine engine, int c, int promptLen, int genLen, Constraint constraint, int vocab,
            String label) throws Exception {
        SplittableRandom rnd = new SplittableRandom(97L * c + promptLen);
        TokenTimes times = new TokenTimes();
        List<RequestHandle> handles = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < c; i++) {
            int[] p = TokenTimes.randomIds(promptLen, vocab, rnd, true);
            GenerationParams params = GenerationParams.builder().seed(1000 + i).temperature(1.0).topK(64).topP(0.95)
                    .maxNewTokens(genLen).stopIds().constraint(constraint).build();
            handles.add(engine.submit(EngineRequest.builder().promptIds(p).params(params).build(), times.listener()));
        }
        List<EngineResult> results = new ArrayList<>();
        for (RequestHandle h : handles) {
            results.add(h.result().get(60, TimeUnit.MINUTES));
        }
        long end = System.nanoTime();
        for (EngineResult r : results) {
            if (r.finishReason() == EngineFinishReason.ERROR) {
                throw new IllegalStateException("request " + r.requestId() + " failed: " + r.error());
            }
        }
        int generated = results.stream().mapToInt(EngineResult::numTokens).sum();
        ObjectNode o = JSON.createObjectNode();
        o.put("bench", "constrained_decode");
        o.put("mode", label);
        o.put("concurrency", c);
        o.put("prompt_tokens", promptLen);
        o.put("gen_len", genLen);
        o.put("generated_tokens", generated);
        o.put("finished_early", results.stream().filter(r -> r.finishReason() == EngineFinishReason.STOP).count());
        o.put("wall_s", BenchArgs.round((end - start) / 1e9));
        o.put("decode_tokens_per_s", BenchArgs.round(times.decodeTokensPerSecond(start, end)));
        o.put("output_tokens_per_s_end_to_end", BenchArgs.round(generated / ((end - start) / 1e9)));
        o.put("precision", engine.model().precision().name());
        o.put("threads_available", Runtime.getRuntime().availableProcessors());
        return JSON.writeValueAsString(o);
    }
}
