package dev.gemmaflink.runtime.model;

import ai.djl.pytorch.jni.JniUtils;

/**
 * The libtorch settings that the generated TorchScript modules (text model and vision encoder) need, in one place.
 * Both settings are per calling thread in libtorch, so they are applied at load and again on the thread of each call.
 */
public final class TorchThreads {

    private TorchThreads() {
    }

    /** Loads DJL's PyTorch engine (the native library) and prepares the calling thread; call before any load. */
    public static void initialize(int threads) {
        // Graph-executor optimisation re-specialises the graph for every new input shape; shapes change each step.
        System.setProperty("ai.djl.pytorch.graph_optimizer", "false");
        ai.djl.engine.Engine.getEngine("PyTorch"); // loads the native library before any JniUtils call
        prepareCallingThread(threads);
    }

    /**
     * Turns graph-executor optimisation off for the calling thread and, when {@code threads > 0}, sets its intra-op
     * thread count (OpenMP's thread count is per calling thread).
     */
    public static void prepareCallingThread(int threads) {
        JniUtils.setGraphExecutorOptimize(false);
        if (threads > 0) {
            JniUtils.setNumThreads(threads);
        }
    }
}
