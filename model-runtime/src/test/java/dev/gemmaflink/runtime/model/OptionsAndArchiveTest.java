package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OptionsAndArchiveTest {

    @TempDir
    Path tmp;

    @Test
    void precisionAndDeviceSpellings() {
        assertThat(Precision.parse("bf16")).isEqualTo(Precision.BF16);
        assertThat(Precision.parse(" F32 ")).isEqualTo(Precision.FLOAT32);
        assertThatThrownBy(() -> Precision.parse("int8")).hasMessageContaining("unknown precision 'int8'")
                .hasMessageContaining("bf16 or f32");
        assertThat(ModelOptions.parseDevice("cpu")).isEqualTo(Device.cpu());
        assertThat(ModelOptions.parseDevice("gpu:1")).isEqualTo(Device.gpu(1));
        assertThat(ModelOptions.parseDevice("cuda:0")).isEqualTo(Device.gpu(0));
        assertThatThrownBy(() -> ModelOptions.parseDevice("gpu:-1")).hasMessageContaining("gpu:N");
        assertThatThrownBy(() -> ModelOptions.parseDevice("tpu")).hasMessageContaining("unknown device 'tpu'");
    }

    @Test
    void optionsRejectContradictions() {
        assertThatThrownBy(() -> ModelOptions.builder().precision(Precision.FLOAT32)
                .forcedPath(MatmulPath.BF16_PLAIN).build()).hasMessageContaining("does not fit precision FLOAT32");
        assertThatThrownBy(() -> ModelOptions.builder().threads(-1).build()).hasMessageContaining("threads");
        ModelOptions d = ModelOptions.defaults();
        assertThat(d.precision()).isEqualTo(Precision.BF16);
        assertThat(d.device()).isEqualTo(Device.cpu());
        assertThat(d.forcedPath()).isEmpty();
    }

    @Test
    void archiveHasTheTorchScriptLayout() throws Exception {
        TorchScriptArchive a = new TorchScriptArchive("sdpa", "Sdpa",
                "def forward(self: __torch__.Sdpa, x: Tensor) -> Tensor:\n  return x\n");
        Path file = a.writeTo(tmp);
        assertThat(file.getFileName().toString()).isEqualTo("sdpa.pt");
        List<String> names = new ArrayList<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            zip.stream().forEach(e -> names.add(e.getName()));
            for (ZipEntry e : zip.stream().toList()) {
                assertThat(e.getMethod()).as(e.getName()).isEqualTo(ZipEntry.STORED);
            }
            assertThat(new String(zip.getInputStream(zip.getEntry("sdpa/version")).readAllBytes(),
                    StandardCharsets.US_ASCII).trim()).isEqualTo("10");
            assertThat(new String(zip.getInputStream(zip.getEntry("sdpa/code/__torch__.py")).readAllBytes(),
                    StandardCharsets.UTF_8)).startsWith("class Sdpa(Module):\n  __parameters__ = []\n")
                    .contains("  def forward(self: __torch__.Sdpa, x: Tensor) -> Tensor:\n    return x\n");
        }
        assertThat(names).containsExactlyInAnyOrder("sdpa/data.pkl", "sdpa/code/__torch__.py", "sdpa/constants.pkl",
                "sdpa/version", "sdpa/byteorder");
        byte[] pickle = a.dataPickle();
        assertThat(pickle[0] & 0xFF).isEqualTo(0x80);
        assertThat(new String(pickle, StandardCharsets.ISO_8859_1)).contains("__torch__\nSdpa\n").contains("training")
                .endsWith("b.");
        assertThatThrownBy(() -> new TorchScriptArchive("bad name", "X", "")).hasMessageContaining("archiveName");
    }
}
