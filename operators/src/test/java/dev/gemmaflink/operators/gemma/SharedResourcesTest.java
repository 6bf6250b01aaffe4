package dev.gemmaflink.operators.gemma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

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

    private final List<String> closedKeys = new ArrayList<>();
    private final SharedResources<String, Resource> registry = new SharedResources<>((k, r) -> {
        assertThat(r.closed).as("beforeClose runs before close").isFalse();
        closedKeys.add(k);
    });
    private final AtomicInteger created = new AtomicInteger();

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
}
