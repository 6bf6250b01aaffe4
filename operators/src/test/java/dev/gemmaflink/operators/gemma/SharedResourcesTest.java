package dev.gemmaflink.operators.gemma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SharedResourcesTest {

    private static final class Resource implements AutoCloseable {
        final int id;
        boolean closed;

        Resource(int id) {
            this.id = id;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private final List<String> closedKeys = Collections.synchronizedList(new ArrayList<>());
    private final SharedResources<String, Resource> registry = new SharedResources<>((k, r) -> {
        assertThat(r.closed).as("beforeClose runs before close").isFalse();
        closedKeys.add(k);
    });
    private final AtomicInteger created = new AtomicInteger();
    /** Enough threads for every concurrent acquire and release of a test (the common pool may have one). */
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stopThreads() {
        threads.shutdownNow();
    }

    private Resource create() {
        return new Resource(created.incrementAndGet());
    }

    @Test
    void twoHoldersShareOneResourceAndTheLastReleaseClosesIt() {
        var first = registry.acquire("gpu:0", this::create);
        var second = registry.acquire("gpu:0", this::create);
        assertThat(second.get()).isSameAs(first.get());
        assertThat(created).hasValue(1);
        assertThat(registry.references("gpu:0")).isEqualTo(2);

        first.close();
        assertThat(first.get().closed).isFalse();
        assertThat(registry.references("gpu:0")).isEqualTo(1);

        second.close();
        assertThat(second.get().closed).isTrue();
        assertThat(registry.references("gpu:0")).isZero();
        assertThat(registry.keys()).isEmpty();
        assertThat(closedKeys).containsExactly("gpu:0");
    }

    @Test
    void closingALeaseTwiceReleasesOnce() {
        var first = registry.acquire("cpu", this::create);
        var second = registry.acquire("cpu", this::create);
        first.close();
        first.close();
        assertThat(second.get().closed).isFalse();
        assertThat(registry.references("cpu")).isEqualTo(1);
    }

    @Test
    void differentKeysGetDifferentResourcesAndAReacquireCreatesANewOne() {
        var a = registry.acquire("gpu:0", this::create);
        var b = registry.acquire("gpu:1", this::create);
        assertThat(a.get()).isNotSameAs(b.get());
        a.close();
        var again = registry.acquire("gpu:0", this::create);
        assertThat(again.get().id).isEqualTo(3);
        assertThat(again.get()).isNotSameAs(a.get());
    }

    @Test
    void aFailingFactoryRegistersNothing() {
        assertThatThrownBy(() -> registry.acquire("gpu:0", () -> {
            throw new IllegalStateException("no CUDA");
        })).hasMessage("no CUDA");
        assertThat(registry.keys()).isEmpty();
        var ok = registry.acquire("gpu:0", this::create);
        assertThat(registry.references("gpu:0")).isEqualTo(1);
        ok.close();
    }

    /** Each factory waits until the other has started: with a lock held during creation neither would return. */
    @Test
    void twoKeysLoadInParallel() throws Exception {
        CountDownLatch bothLoading = new CountDownLatch(2);
        Supplier<Resource> slowLoad = () -> {
            bothLoading.countDown();
            await(bothLoading);
            return create();
        };
        CompletableFuture<SharedResources.Lease<String, Resource>> gpu0 =
                CompletableFuture.supplyAsync(() -> registry.acquire("gpu:0", slowLoad), threads);
        CompletableFuture<SharedResources.Lease<String, Resource>> gpu1 =
                CompletableFuture.supplyAsync(() -> registry.acquire("gpu:1", slowLoad), threads);
        assertThat(gpu0.get(10, TimeUnit.SECONDS).get()).isNotSameAs(gpu1.get(10, TimeUnit.SECONDS).get());
        assertThat(registry.keys()).containsExactlyInAnyOrder("gpu:0", "gpu:1");
        gpu0.get().close();
        gpu1.get().close();
    }

    @Test
    void aSecondHolderOfAKeyWaitsForItsOneCreation() throws Exception {
        CountDownLatch loading = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        CompletableFuture<SharedResources.Lease<String, Resource>> first = acquireHeldInCreation(loading, finish);
        assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(registry.get("gpu:0")).as("no resource while it loads").isNull();
        assertThat(registry.keys()).isEmpty();
        CompletableFuture<SharedResources.Lease<String, Resource>> second =
                CompletableFuture.supplyAsync(() -> registry.acquire("gpu:0", () -> {
                    throw new AssertionError("a second creation of gpu:0");
                }), threads);
        assertThat(waitForReferences("gpu:0", 2)).isTrue();
        assertThat(second).isNotDone();
        finish.countDown();
        assertThat(second.get(10, TimeUnit.SECONDS).get()).isSameAs(first.get(10, TimeUnit.SECONDS).get());
        assertThat(created).hasValue(1);
        first.get().close();
        second.get().close();
        assertThat(closedKeys).containsExactly("gpu:0");
    }

    @Test
    void aFailedCreationFailsItsWaitersAndTheNextAcquireCreatesAgain() throws Exception {
        CountDownLatch loading = new CountDownLatch(1);
        CountDownLatch fail = new CountDownLatch(1);
        CompletableFuture<SharedResources.Lease<String, Resource>> first =
                CompletableFuture.supplyAsync(() -> registry.acquire("gpu:0", () -> {
                    loading.countDown();
                    await(fail);
                    throw new IllegalStateException("no CUDA");
                }), threads);
        assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<SharedResources.Lease<String, Resource>> waiter =
                CompletableFuture.supplyAsync(() -> registry.acquire("gpu:0", this::create), threads);
        assertThat(waitForReferences("gpu:0", 2)).isTrue();
        fail.countDown();
        for (CompletableFuture<?> f : List.of(first, waiter)) {
            assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(IllegalStateException.class).hasMessage("no CUDA");
        }
        assertThat(registry.references("gpu:0")).isZero();
        assertThat(created).hasValue(0);
        try (var again = registry.acquire("gpu:0", this::create)) {
            assertThat(again.get().id).isEqualTo(1);
        }
    }

    @Test
    void aKeyIsCreatedAgainOnlyAfterItsOldResourceHasClosed() throws Exception {
        CountDownLatch closing = new CountDownLatch(1);
        CountDownLatch finishClose = new CountDownLatch(1);
        SharedResources<String, AutoCloseable> slowClose = new SharedResources<>((k, r) -> { });
        java.util.concurrent.atomic.AtomicBoolean oldClosed = new java.util.concurrent.atomic.AtomicBoolean();
        var old = slowClose.acquire("gpu:0", () -> () -> {
            closing.countDown();
            await(finishClose);
            oldClosed.set(true); // the resource's close has returned from here on
        });
        CompletableFuture<Void> released = CompletableFuture.runAsync(old::close, threads);
        assertThat(closing.await(10, TimeUnit.SECONDS)).isTrue();
        AtomicInteger createdAfterClose = new AtomicInteger();
        CompletableFuture<SharedResources.Lease<String, AutoCloseable>> next =
                CompletableFuture.supplyAsync(() -> slowClose.acquire("gpu:0", () -> {
                    createdAfterClose.set(oldClosed.get() ? 1 : -1);
                    return () -> { };
                }), threads);
        assertThatThrownBy(() -> next.get(200, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
        finishClose.countDown();
        next.get(10, TimeUnit.SECONDS).close();
        released.get(10, TimeUnit.SECONDS);
        assertThat(createdAfterClose).as("created after the old resource closed").hasValue(1);
    }

    @Test
    void anInterruptedWaiterGivesItsReferenceBack() throws Exception {
        CountDownLatch loading = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        CompletableFuture<SharedResources.Lease<String, Resource>> first = acquireHeldInCreation(loading, finish);
        assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
        List<Throwable> failure = new ArrayList<>();
        Thread waiter = new Thread(() -> {
            try {
                registry.acquire("gpu:0", this::create);
            } catch (RuntimeException e) {
                failure.add(e);
            }
        });
        waiter.start();
        assertThat(waitForReferences("gpu:0", 2)).isTrue();
        waiter.interrupt();
        waiter.join(10_000);
        assertThat(failure).singleElement().satisfies(e -> assertThat(e)
                .hasMessage("interrupted while waiting for the shared resource gpu:0 to be created"));
        assertThat(registry.references("gpu:0")).isEqualTo(1);
        finish.countDown();
        first.get(10, TimeUnit.SECONDS).close();
        assertThat(closedKeys).containsExactly("gpu:0");
    }

    private boolean waitForReferences(String key, int references) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (registry.references(key) != references) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }

    /**
     * Acquires {@code gpu:0} on another thread with a creation that counts {@code loading} down, then waits for
     * {@code finish} before it creates the resource.
     */
    private CompletableFuture<SharedResources.Lease<String, Resource>> acquireHeldInCreation(CountDownLatch loading,
            CountDownLatch finish) {
        return CompletableFuture.supplyAsync(() -> registry.acquire("gpu:0", () -> {
            loading.countDown();
            await(finish);
            return create();
        }), threads);
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("latch not released in 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
