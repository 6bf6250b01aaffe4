package dev.gemmaflink.operators.gemma;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.gemmaflink.runtime.engine.EngineConfig;
import dev.gemmaflink.runtime.engine.EngineMetrics;
import dev.gemmaflink.runtime.engine.GemmaEngine;

/**
 * One {@link GemmaEngine} per (model, device, settings) per TaskManager JVM, shared by every enrichment subtask
 * placed on that device: continuous batching and the prefix cache only pay off when the requests of all subtasks
 * meet in one engine, and a GPU holds one copy of the weights. Created by the first subtask's {@code open},
 * closed by the last one's {@code close}.
 *
 * <p>Static on purpose: Flink loads user code once per job in a TaskManager, so subtasks of one job on one
 * TaskManager see the same registry (a MiniCluster's too, which is how the end-to-end tests read the metrics).
 */
public final class SharedEngines {

    /**
     * What identifies an engine: the model folder (absolute, normalized) and the engine configuration, the device
     * ({@code cpu} / {@code gpu:N}) included.
     */
    public record Key(String modelDir, EngineConfig config) {
    }

    private static final Map<Key, EngineMetrics> FINAL_METRICS = new ConcurrentHashMap<>();
    private static final SharedResources<Key, GemmaEngine> ENGINES =
            new SharedResources<>((key, engine) -> FINAL_METRICS.put(key, engine.metrics()));

    private SharedEngines() {
    }

    /**
     * A lease on the engine of {@code key}, loading the model when no subtask holds it. Engines of different keys
     * (two GPUs) load in parallel; subtasks asking for one key while it loads wait for that load.
     */
    public static SharedResources.Lease<Key, GemmaEngine> acquire(Key key) {
        return ENGINES.acquire(key, () -> create(key));
    }

    /** Releases a lease; the last one records the engine's final metrics and closes it. */
    static void release(SharedResources.Lease<Key, GemmaEngine> lease) {
        lease.close();
    }

    /** The live engines (diagnostics, tests). */
    public static Map<Key, GemmaEngine> live() {
        Map<Key, GemmaEngine> out = new java.util.HashMap<>();
        for (Key k : ENGINES.keys()) {
            GemmaEngine e = ENGINES.get(k);
            if (e != null) {
                out.put(k, e);
            }
        }
        return out;
    }

    /** Subtasks holding the engine of {@code key}. */
    public static int references(Key key) {
        return ENGINES.references(key);
    }

    /** The metrics of closed engines at the moment they closed, by key (diagnostics, tests). */
    public static Map<Key, EngineMetrics> finalMetrics() {
        return Map.copyOf(FINAL_METRICS);
    }

    private static GemmaEngine create(Key key) {
        return GemmaEngine.builder().modelDir(Path.of(key.modelDir())).config(key.config()).build();
    }
}
