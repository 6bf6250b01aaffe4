package dev.gemmaflink.operators.gemma;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reference-counted resources by key: the first {@link #acquire} of a key creates the resource, later ones share
 * it, and the {@link Lease#close() release} of the last lease closes it. Thread-safe; creation runs under the
 * registry's lock, so two subtasks opening at once never create two engines for one device.
 *
 * @param <K> key (equal keys share one resource)
 * @param <V> the resource
 */
public final class SharedResources<K, V extends AutoCloseable> {
    private static final Logger LOG = LoggerFactory.getLogger(SharedResources.class);

    private final Map<K, Entry<V>> entries = new HashMap<>();
    private final BiConsumer<K, V> beforeClose;

    /** @param beforeClose called with a resource just before its last lease closes it (e.g. to keep its metrics) */
    public SharedResources(BiConsumer<K, V> beforeClose) {
        this.beforeClose = Objects.requireNonNull(beforeClose, "beforeClose");
    }

    /**
     * A lease on the resource of {@code key}, creating it with {@code factory} when no lease holds it.
     *
     * @throws RuntimeException what the factory threw; nothing is registered then
     */
    public synchronized Lease<K, V> acquire(K key, Supplier<V> factory) {
        Objects.requireNonNull(key, "key");
        Entry<V> entry = entries.get(key);
        if (entry == null) {
            V created = Objects.requireNonNull(factory.get(), "factory returned null");
            entry = new Entry<>(created);
            entries.put(key, entry);
        }
        entry.references++;
        return new Lease<>(this, key, entry.resource);
    }

    /** Leases currently held on {@code key} (0 when none). */
    public synchronized int references(K key) {
        Entry<V> entry = entries.get(key);
        return entry == null ? 0 : entry.references;
    }

    /** The live resource of {@code key}, or null. */
    public synchronized V get(K key) {
        Entry<V> entry = entries.get(key);
        return entry == null ? null : entry.resource;
    }

    /** Keys with a live resource. */
    public synchronized Set<K> keys() {
        return Set.copyOf(entries.keySet());
    }

    private synchronized void release(K key, V resource) {
        Entry<V> entry = entries.get(key);
        if (entry == null || entry.resource != resource) {
            return; // released twice: already closed
        }
        if (--entry.references > 0) {
            return;
        }
        entries.remove(key);
        try {
            beforeClose.accept(key, resource);
        } finally {
            try {
                resource.close();
            } catch (Exception e) {
                LOG.warn("closing shared resource {} failed", key, e);
            }
        }
    }

    private static final class Entry<V> {
        final V resource;
        int references;

        Entry(V resource) {
            this.resource = resource;
        }
    }

    /** One holder's share of a resource; closing it twice releases once. */
    public static final class Lease<K, V extends AutoCloseable> implements AutoCloseable {
        private final SharedResources<K, V> owner;
        private final K key;
        private final V resource;
        private boolean released;

        private Lease(SharedResources<K, V> owner, K key, V resource) {
            this.owner = owner;
            this.key = key;
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
                owner.release(key, resource);
            }
        }
    }
}
