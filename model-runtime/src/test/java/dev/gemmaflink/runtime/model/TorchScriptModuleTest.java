package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import dev.gemmaflink.runtime.ModelLoadException;
import dev.gemmaflink.runtime.weights.DType;
import dev.gemmaflink.runtime.weights.HalfFloats;
import dev.gemmaflink.runtime.weights.SafetensorsFile;
import dev.gemmaflink.runtime.weights.SafetensorsWriter;
import dev.gemmaflink.runtime.weights.TensorData;
import dev.gemmaflink.runtime.weights.TensorKind.Form;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Weight upload, device and lifecycle of a generated module, with tensors split into several upload chunks. */
class TorchScriptModuleTest {
    /** Methods of the probe module: read back weight {@code i} as float32. */
    private static final String READ_BACK = "def get(self: __torch__.Probe, w: List[Tensor], i: int) -> Tensor:\n"
            + "  return torch.to(w[i], 6)\n"
            + "def join(self: __torch__.Probe, parts: List[Tensor]) -> Tensor:\n"
            + "  return torch.cat([parts[0], torch.type_as(parts[1], parts[0])], 0)\n";
    /** Small enough that every tensor below is uploaded in several chunks. */
    private static final long CHUNK = 16;

    @TempDir
    static Path tmp;
    static SafetensorsFile file;

    /** Values exact in bf16 and f16, so every dtype reads back unchanged. */
    private static float[] values(int n, float offset) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = offset + i * 0.25f - 1;
        }
        return v;
    }

    @BeforeAll
    static void writeTensors() {
        Path f = tmp.resolve("t.safetensors");
        new SafetensorsWriter()
                .add("matrix", DType.F32, new long[] {5, 3}, values(15, 0))
                .add("in_out", DType.BF16, new long[] {5, 3}, values(15, 1))
                .add("norm", DType.F16, new long[] {12}, values(12, 2))
                .add("bias", DType.BF16, new long[] {9}, values(9, 3))
                .write(f);
        file = SafetensorsFile.open(f);
    }

    @AfterAll
    static void closeFile() {
        file.close();
    }

    private static TorchScriptModule load(Precision precision) {
        return TorchScriptModule.load(new TorchScriptModule.Source("probe", "Probe", precision, READ_BACK), Device.cpu(),
                1, CHUNK);
    }

    private static float[] readBack(TorchScriptModule m, int i, long... expectedShape) {
        try (PtNDManager sub = m.newSubManager();
             IValue index = IValue.from((long) i);
             IValue out = m.call("get", m.weights(), index)) {
            PtNDArray a = out.toTensor(sub);
            assertThat(a.getShape().getShape()).containsExactly(expectedShape);
            return a.toFloatArray();
        }
    }

    @Test
    void uploadsEachFormInChunksAndHoldsItAsItsKindNeeds() {
        try (TorchScriptModule m = load(Precision.FLOAT32)) {
            AtomicLong uploaded = new AtomicLong();
            TensorData matrix = file.tensor("matrix");
            assertThat(m.appendWeight(matrix, Form.MATRIX, uploaded::addAndGet)).isEqualTo(15 * 4);
            assertThat(uploaded.get()).isEqualTo(matrix.byteLength());
            m.appendWeight(file.tensor("in_out"), Form.MATRIX_IN_OUT, n -> { });
            m.appendWeight(file.tensor("norm"), Form.GEMMA_NORM, n -> { });
            m.appendWeight(file.tensor("bias"), Form.BIAS, n -> { });

            assertThat(readBack(m, 0, 5, 3)).containsExactly(values(15, 0));
            float[] inOut = values(15, 1);
            float[] transposed = new float[15];
            for (int r = 0; r < 5; r++) {
                for (int c = 0; c < 3; c++) {
                    transposed[c * 5 + r] = inOut[r * 3 + c];
                }
            }
            assertThat(readBack(m, 1, 3, 5)).containsExactly(transposed);
            float[] norm = values(12, 2);
            for (int i = 0; i < norm.length; i++) {
                norm[i] = HalfFloats.f16ToFloat(HalfFloats.floatToF16(norm[i])) + 1;
            }
            assertThat(readBack(m, 2, 12)).containsExactly(norm);
            assertThat(readBack(m, 3, 9)).containsExactly(values(9, 3));
        }
    }

    @Test
    void residentBytesFollowThePrecisionExceptForFloat32Forms() {
        try (TorchScriptModule m = load(Precision.BF16)) {
            assertThat(m.precision()).isEqualTo(Precision.BF16);
            assertThat(m.appendWeight(file.tensor("matrix"), Form.MATRIX, n -> { })).isEqualTo(15 * 2);
            assertThat(m.appendWeight(file.tensor("bias"), Form.BIAS, n -> { })).isEqualTo(9 * 4);
            assertThat(m.appendWeight(file.tensor("norm"), Form.GEMMA_NORM, n -> { })).isEqualTo(12 * 4);
            assertThat(readBack(m, 0, 5, 3)).containsExactly(values(15, 0)); // exact in bf16
        }
    }

    @Test
    void fusedEntryJoinsPartsUploadedInTheirOwnForms() {
        try (TorchScriptModule m = load(Precision.BF16)) {
            AtomicLong uploaded = new AtomicLong();
            TensorData a = file.tensor("matrix");
            TensorData b = file.tensor("in_out");
            // Two 5x3 matrices stacked by rows: one entry, held in the compute dtype.
            assertThat(m.appendFused(List.of(a, b), List.of(Form.MATRIX, Form.MATRIX), "join", uploaded::addAndGet))
                    .isEqualTo(10 * 3 * 2);
            assertThat(uploaded.get()).isEqualTo(a.byteLength() + b.byteLength());
            float[] expected = new float[30];
            System.arraycopy(values(15, 0), 0, expected, 0, 15);
            System.arraycopy(values(15, 1), 0, expected, 15, 15);
            assertThat(readBack(m, 0, 10, 3)).containsExactly(expected);
            assertThatThrownBy(() -> m.appendFused(List.of(a, file.tensor("bias")), List.of(Form.MATRIX, Form.BIAS),
                    "no_such_method", n -> { })).isInstanceOf(ModelLoadException.class)
                    .hasMessageContaining("cannot load tensors matrix, bias from " + file.path());
            assertThatThrownBy(() -> m.appendFused(List.of(a), List.of(), "join", n -> { }))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void failedUploadNamesTheTensorAndClosingEndsTheModule() {
        TorchScriptModule m = load(Precision.FLOAT32);
        assertThat(m.device()).isEqualTo(Device.cpu());
        int arrays = m.managedArrayCount();
        assertThatThrownBy(() -> m.appendWeight(file.tensor("bias"), Form.BIAS, "no_such_method", n -> { }))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("cannot load tensor bias from " + file.path());
        m.appendWeight(file.tensor("bias"), Form.BIAS, n -> { });
        readBack(m, 0, 9);
        assertThat(m.managedArrayCount()).isEqualTo(arrays);
        m.close();
        m.close();
        assertThat(m.isClosed()).isTrue();
        assertThatThrownBy(m::weights).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> m.call("new_list")).isInstanceOf(IllegalStateException.class);
    }
}
