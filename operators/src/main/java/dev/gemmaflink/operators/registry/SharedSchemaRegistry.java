package dev.gemmaflink.operators.registry;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.gemmaflink.operators.registry.SchemaRegistryClient.NotFound;
import dev.gemmaflink.operators.registry.SchemaRegistryClient.SchemaAnswer;

/**
 * One registry client and its caches per registry settings and JVM (a TaskManager), shared by every subtask there:
 * a schema id is fetched once per TaskManager, never per record, and concurrent subtasks asking for a new id wait
 * for one fetch. An answer that the id is unknown is kept for {@link #NOT_FOUND_TTL} (a poison stream of unknown
 * ids must not hammer the registry either), schemas for good (a registry never changes the schema of an id). An
 * unreachable registry caches nothing: the next record asks again.
 */
public final class SharedSchemaRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(SharedSchemaRegistry.class);

    /** How long "unknown id" answers are remembered. */
    public static final Duration NOT_FOUND_TTL = Duration.ofMinutes(1);

    private static final Map<RegistryConfig, SharedSchemaRegistry> INSTANCES = new ConcurrentHashMap<>();

    private final SchemaRegistryClient client;
    private final Map<Integer, CompletableFuture<Cached>> byId = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Integer>> outputIds = new ConcurrentHashMap<>();

    private SharedSchemaRegistry(RegistryConfig config) {
        this.client = new SchemaRegistryClient(config);
    }

    /** The instance of this JVM for these settings. */
    public static SharedSchemaRegistry of(RegistryConfig config) {
        return INSTANCES.computeIfAbsent(config, SharedSchemaRegistry::new);
    }

    /** The client (its {@link SchemaRegistryClient#requestsSent()} counts what the caches saved). */
    public SchemaRegistryClient client() {
        return client;
    }

    /**
     * The registry's answer for a schema id, from the cache when it has one.
     *
     * @throws RegistryUnavailableException when the registry cannot answer (nothing is cached then)
     */
    public SchemaAnswer schemaById(int id) {
        while (true) {
            CompletableFuture<Cached> mine = new CompletableFuture<>();
            CompletableFuture<Cached> existing = byId.putIfAbsent(id, mine);
            if (existing == null) {
                try {
                    SchemaAnswer answer = client.schemaById(id);
                    if (answer instanceof SchemaRegistryClient.Found found) {
                        LOG.info("schema id {} from {}: {} (fingerprint {})", id, client.config().displayUrls(),
                                found.schema().getFullName(),
                                String.format("%016x", SchemaNormalization.parsingFingerprint64(found.schema())));
                    }
                    mine.complete(new Cached(answer, System.nanoTime()));
                    return answer;
                } catch (RuntimeException e) {
                    byId.remove(id, mine);
                    mine.completeExceptionally(e);
                    throw e;
                }
            }
            Cached cached;
            try {
                cached = existing.join();
            } catch (CompletionException e) {
                if (e.getCause() instanceof RuntimeException cause) {
                    throw cause;
                }
                throw e;
            }
            if (cached.answer() instanceof NotFound
                    && System.nanoTime() - cached.nanos() > NOT_FOUND_TTL.toNanos()) {
                byId.remove(id, existing); // ask again
                continue;
            }
            return cached.answer();
        }
    }

    /**
     * The id of one of the job's own schemas under a subject, registered or looked up once per JVM
     * ({@link SchemaRegistryClient#idOf}).
     */
    public int idOf(String subject, Schema schema, boolean autoRegister) {
        String key = subject + "\u0000" + SchemaNormalization.parsingFingerprint64(schema) + "\u0000" + autoRegister;
        CompletableFuture<Integer> mine = new CompletableFuture<>();
        CompletableFuture<Integer> existing = outputIds.putIfAbsent(key, mine);
        if (existing != null) {
            try {
                return existing.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException cause ? cause : e;
            }
        }
        try {
            int id = client.idOf(subject, schema, autoRegister);
            LOG.info("{} {} under subject {} at {}: schema id {}", autoRegister ? "registered" : "found",
                    schema.getFullName(), subject, client.config().displayUrls(), id);
            mine.complete(id);
            return id;
        } catch (RuntimeException e) {
            outputIds.remove(key, mine);
            mine.completeExceptionally(e);
            throw e;
        }
    }

    private record Cached(SchemaAnswer answer, long nanos) {
    }
}
