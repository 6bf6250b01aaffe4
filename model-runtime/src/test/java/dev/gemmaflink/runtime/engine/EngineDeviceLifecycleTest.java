package dev.gemmaflink.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.ModelLoadException;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where an engine starts and what it gives back: the device check at start, the memory at close. */
class EngineDeviceLifecycleTest {

    @TempDir
    static Path tmp;

    static TinyCheckpoint ckpt;

    @BeforeAll
    static void write() {
        ckpt = EngineTestSupport.write(tmp.resolve("ckpt"));
    }

    /** This build's engine is DJL's CPU libtorch: a GPU engine must not start, and must say what to set. */
    @Test
    void aGpuEngineOnTheCpuLibtorchFailsAtStartNamingTheThreeVariables() {
        EngineConfig config = EngineTestSupport.config().device("gpu:0").build();
        assertThatThrownBy(() -> GemmaEngine.builder().modelDir(ckpt.directory()).config(config).build())
                .isInstanceOf(ModelLoadException.class)
                .hasMessageStartingWith("device gpu:0 needs a CUDA build of libtorch, but DJL's PyTorch engine "
                        + "loaded the CPU-only libtorch 2.7.1 from ")
                .hasMessageContaining("Set PYTORCH_LIBRARY_PATH to the lib/ folder of libtorch 2.7.1 for CUDA 12.8 "
                        + "(cxx11 ABI), PYTORCH_VERSION=2.7.1 and PYTORCH_FLAVOR=cu128 (now ");
    }

    @Test
    void closingAnEngineThatLoadedItsModelFreesTheModel() {
        GemmaEngine engine = GemmaEngine.builder().modelDir(ckpt.directory())
                .config(EngineTestSupport.config().precision(Precision.FLOAT32).threads(1).build()).build();
        assertThat(engine.metrics().kvStorageBytes()).isPositive();
        engine.model().allocateKv(1, 1).close(); // usable while the engine runs
        engine.close();
        assertThatThrownBy(() -> engine.model().allocateKv(1, 1)).isInstanceOf(IllegalStateException.class)
                .hasMessage("model is closed");
    }
}
