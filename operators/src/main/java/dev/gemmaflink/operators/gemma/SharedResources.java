package dev.gemmaflink.operators.gemma;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reference-counted resources by key: the first {@link #acquire} of a key creates the resource, later ones share
 * it, and the {@link Lease#close() release} of the last lease closes it. Thread-safe.
 *
 * <p>No lock is held while a resource is created or closed: the registry's lock guards only its maps, and each key
 * has its own future. So resources of different keys (engines for two GPUs) load in parallel, while the holders of
 * one key wait for its single creation. A key released by its last holder is created again only after the old
 * resource has closed, so a subtask restarting in the same JVM never loads a second engine onto a device the first
 * one still occupies.
 *
 * @param <K> key (equal keys share one resource)
 * @param <V> the resource
 */
public final class SharedResources<K, V extends AutoCloseable> {
    private static final Logger LOG = LoggerFactory.getLogger(SharedResources.class);

    private final Map<K, Entry<V>> entries = new HashMap<>();
    /** Closings in progress, by key: completed once the old resource is closed. */
    private final Map<K, CompletableFuture<Void>> closing = new HashMap<>();
    private final BiConsumer<K, V> beforeClose;

    /** @param beforeClose called with a resource just before its last lease closes it (e.g. to keep its metrics) */
    public SharedResources(BiConsumer<K, V> beforeClose) {
        this.beforeClose = Objects.requireNonNull(beforeClose, "beforeClose");
    }

    /**
     * A lease on the resource of {@code key}: the first caller of a key runs {@code factory} (after the key's
     * previous resource, if any, has finished closing), concurrent callers of the same key wait for that creation.
     *
     * @throws RuntimeException what the factory threw, to its caller and to every caller waiting for it; nothing
     *     is registered then
     * @throws IllegalStateException when the thread is interrupted while waiting for another caller's creation
     */
    public Lease<K, V> acquire(K key, Supplier<V> factory) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(factory, "factory");
        Entry<V> entry;
        boolean creator;
        CompletableFuture<Void> previous;
        synchronized (this) {
            entry = entries.get(key);
            creator = entry == null;
            if (creator) {
                entry = new Entry<>();
                entries.put(key, entry);
            }
            entry.references++;
            previous = closing.get(key);
        }
        return creator ? create(key, entry, previous, factory) : await(key, entry);
    }

    private Lease<K, V> create(K key, Entry<V> entry, CompletableFuture<Void> previous, Supplier<V> factory) {
        V created;
        try {
            if (previous != null) {
                previous.join(); // completes normally: a failed close is logged, not rethrown
            }
            created = Objects.requireNonNull(factory.get(), "factory returned null");
        } catch (RuntimeException | Error e) {
            synchronized (this) {
                entries.remove(key, entry); // the waiters' references go with it
            }
            entry.resource.completeExceptionally(e);
            throw e;
        }
        entry.resource.complete(created);
        return new Lease<>(this, key, entry, created);
    }

    private Lease<K, V> await(K key, Entry<V> entry) {
        try {
            return new Lease<>(this, key, entry, entry.resource.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            release(key, entry);
            throw new IllegalStateException("interrupted while waiting for the shared resource " + key
                    + " to be created", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException("creating the shared resource " + key + " failed", cause);
        }
    }

    /** Holders of {@code key}, those waiting for its creation included (0 when none). */
    public synchronized int references(K key) {
        Entry<V> entry = entries.get(key);
        return entry == null ? 0 : entry.references;
    }

    /** The live resource of {@code key}, or null (also while it is being created). */
    public synchronized V get(K key) {
        Entry<V> entry = entries.get(key);
        return entry == null ? null : entry.resource.getNow(null);
    }

    /** Keys with a live resource (created, not yet released by its last holder). */
    public synchronized Set<K> keys() {
        Set<K> live = new HashSet<>();
        entries.forEach((key, entry) -> {
            if (entry.resource.isDone() && !entry.resource.isCompletedExceptionally()) {
                live.add(key);
            }
        });
        return Set.copyOf(live);
    }

    private void release(K key, Entry<V> entry) {
        CompletableFuture<Void> closed;
        synchronized (this) {
            if (entries.get(key) != entry || --entry.references > 0) {
                return; // released twice (already closed), or others still hold it
            }
            entries.remove(key);
            closed = new CompletableFuture<>();
            closing.put(key, closed);
        }
        // The last holder had a lease, so the creation has completed.
        V resource = entry.resource.join();
        try {
            beforeClose.accept(key, resource);
        } finally {
            try {
                resource.close();
            } catch (Exception e) {
                LOG.warn("closing shared resource {} failed", key, e);
            } finally {
                synchronized (this) {
                    closing.remove(key, closed);
                }
                closed.complete(null);
            }
        }
    }

    private static final class Entry<V> {
        final CompletableFuture<V> resource = new CompletableFuture<>();
        int references;
    }

    /** One holder's share of a resource; closing it twice releases once. */
    public static final class Lease<K, V extends AutoCloseable> implements AutoCloseable {
        private final SharedResources<K, V> owner;
        private final K key;
        private final Entry<V> entry;
        private final V resource;
        private boolean released;

        private Lease(SharedResources<K, V> owner, K key, Entry<V> entry, V resource) {
            this.owner = owner;
            this.key = key;
            this.entry = entry;
            this.resource = resource;
        }

        public V get() {
            return resource;
        }

        public K key() {
            return key;
        }

        @Override
        public synchronized void close() {
            if (!released) {
                released = true;
                owner.release(key, entry);
            }
        }
    }
}
