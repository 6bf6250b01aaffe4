package dev.gemmaflink.operators.enrich;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.FakeGpu;

class GpuAssignerTest {

    private final GpuAssigner assigner = new GpuAssigner();
    private final List<ExternalResourceInfo> twoGpus = List.of(FakeGpu.index("1"), FakeGpu.index("0"));

    @Test
    void holdersTakeTheLeastHeldGpuLowestIndexFirst() {
        List<GpuAssigner.Assignment> held = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            held.add(assigner.acquire(twoGpus));
        }
        assertThat(held).extracting(GpuAssigner.Assignment::index).containsExactly(0, 1, 0, 1, 0);
        assertThat(assigner.holders(0)).isEqualTo(3);
        assertThat(assigner.holders(1)).isEqualTo(2);

        // Two holders of GPU 0 leave: the next two go there, not round the clock.
        held.get(0).close();
        held.get(2).close();
        assertThat(assigner.holders(0)).isEqualTo(1);
        assertThat(assigner.acquire(twoGpus).index()).isEqualTo(0);
        assertThat(assigner.acquire(twoGpus).index()).isEqualTo(0);
        assertThat(assigner.holders(0)).isEqualTo(3);
        assertThat(assigner.holders(1)).isEqualTo(2);
    }

    @Test
    void closingTwiceGivesBackOnceAndNoGpuIsMinusOne() {
        GpuAssigner.Assignment a = assigner.acquire(twoGpus);
        GpuAssigner.Assignment b = assigner.acquire(twoGpus);
        a.close();
        a.close();
        assertThat(assigner.holders(0)).isZero();
        assertThat(assigner.holders(1)).isEqualTo(1);
        b.close();

        GpuAssigner.Assignment none = assigner.acquire(List.of());
        assertThat(none.index()).isEqualTo(-1);
        none.close();
        assertThat(assigner.acquire(null).index()).isEqualTo(-1);
    }

    @Test
    void aGpuListedTwiceCountsOnceAndABadIndexIsRefused() {
        List<ExternalResourceInfo> duplicated = List.of(FakeGpu.index("3"), FakeGpu.index("3"), FakeGpu.index("4"));
        assertThat(assigner.acquire(duplicated).index()).isEqualTo(3);
        assertThat(assigner.acquire(duplicated).index()).isEqualTo(4);
        assertThatThrownBy(() -> assigner.acquire(List.of(FakeGpu.index("gpu0"))))
                .hasMessage("a 'gpu' external resource has index 'gpu0', not a GPU index >= 0");
    }
}
