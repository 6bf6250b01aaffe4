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
        // DJL's own PtSymbolBlock.forward applies this JVM-wide property to the calling thread before each call; the
        // modules here are called through IValueUtils.runMethod, which does not read it, and set the flag per call
        // (prepareCallingThread). Off, because graph-executor optimisation re-specialises the graph for every new
        // input shape and shapes change each step unless they are bucketed (GraphMode.OPTIMIZED).
        System.setProperty("ai.djl.pytorch.graph_optimizer", "false");
        ai.djl.engine.Engine.getEngine("PyTorch"); // loads the native library before any JniUtils call
        prepareCallingThread(threads);
    }

    /**
     * Turns graph-executor optimisation off for the calling thread and, when {@code threads > 0}, sets its intra-op
     * thread count (OpenMP's thread count is per calling thread).
     */
    public static void prepareCallingThread(int threads) {
        prepareCallingThread(threads, false);
    }

    /**
     * Sets graph-executor optimisation for the calling thread ({@code optimize}) and, when {@code threads > 0}, its
     * intra-op thread count. libtorch reads the optimisation flag at each call of a method and keeps the optimised
     * and the unoptimised plan of a method apart, so calls with either setting may alternate on one module.
     */
    public static void prepareCallingThread(int threads, boolean optimize) {
        JniUtils.setGraphExecutorOptimize(optimize);
        if (threads > 0) {
            JniUtils.setNumThreads(threads);
        }
    }

    /** Turns graph-executor optimisation off for the calling thread again (after an optimised call). */
    public static void endOptimizedCall() {
        JniUtils.setGraphExecutorOptimize(false);
    }
}
