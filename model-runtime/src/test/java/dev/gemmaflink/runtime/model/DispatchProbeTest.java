package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The dispatch probe runs what it claims: {@link DispatchProbe#OPERATIONS} trivial graph operations and a sum. */
class DispatchProbeTest {

    @BeforeAll
    static void threads() {
        TorchThreads.initialize(1);
    }

    @Test
    void probeModuleIsOneGraphOperationPerAddPlusTheSum() {
        try (Model model = DispatchProbe.archive().load(Device.cpu());
             PtNDManager m = (PtNDManager) model.getNDManager().newSubManager()) {
            PtSymbolBlock block = (PtSymbolBlock) model.getBlock();
            PtNDArray x = (PtNDArray) m.zeros(new Shape(1, 64), DataType.FLOAT32);
            PtNDArray w = (PtNDArray) m.full(new Shape(1, 64), 0.5f);
            float[] sum = new float[1];
            try (IValue xi = IValue.from(x); IValue wi = IValue.from(w)) {
                OpProfile.Counts c = OpProfile.of(() -> {
                    try (IValue out = IValueUtils.runMethod(block, "forward", xi, wi)) {
                        sum[0] = out.toTensor(m).getFloat();
                    }
                });
                assertThat(c.graphOps()).isEqualTo(DispatchProbe.OPERATIONS + 1);
            }
            // 64 entries, each 0.5 added OPERATIONS times: exact in float32.
            assertThat(sum[0]).isEqualTo(32f * DispatchProbe.OPERATIONS);
        }
    }

    @Test
    void measuresAPositiveTimePerOperation() {
        double seconds = DispatchProbe.secondsPerOperation(Device.cpu(), 2);
        assertThat(seconds).isPositive().isLessThan(1.0); // a second per 64-float add means a broken measurement
    }

    @Test
    void refusesNoRepetitions() {
        assertThatThrownBy(() -> DispatchProbe.secondsPerOperation(Device.cpu(), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(">= 1 repetition");
    }
}
