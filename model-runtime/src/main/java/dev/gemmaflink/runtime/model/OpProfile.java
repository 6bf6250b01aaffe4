package dev.gemmaflink.runtime.model;

import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;

/**
 * Counts the operations one call of a generated module runs, with libtorch's profiler (DJL's
 * {@link JniUtils#startProfile}): what a step costs in dispatches, independent of timing.
 *
 * <p>The profiler records every {@code aten::} call and every TorchScript function frame ({@code forward},
 * {@code layer}, ...) on the calling thread. A <em>graph operation</em> is an {@code aten::} call made by the
 * TorchScript interpreter itself (no {@code aten::} call encloses it): one node of the module's graph, one dispatch,
 * on a GPU at least one kernel launch. A <em>dispatched operation</em> is any {@code aten::} call, nested ones included
 * (what composite operations such as {@code aten::linear} run inside). List, integer and size operations of the graph
 * are not recorded: they touch no tensor.
 *
 * <p>Not thread-safe against other profiling in the JVM: the profiler is global state of libtorch.
 */
public final class OpProfile {

    /**
     * Operation counts of one profiled call.
     *
     * @param graphOps        graph operations inside {@code forward}
     * @param dispatchedOps   all {@code aten::} calls inside {@code forward}, nested ones included
     * @param layers          {@code layer} frames entered
     * @param graphOpsInLayers graph operations inside {@code layer} frames
     * @param dispatchedOpsInLayers all {@code aten::} calls inside {@code layer} frames
     */
    public record Counts(int graphOps, int dispatchedOps, int layers, int graphOpsInLayers, int dispatchedOpsInLayers) {
        /** @return graph operations per decoder layer (0 without layers) */
        public double graphOpsPerLayer() {
            return layers == 0 ? 0 : (double) graphOpsInLayers / layers;
        }

        /** @return dispatched operations per decoder layer (0 without layers) */
        public double dispatchedOpsPerLayer() {
            return layers == 0 ? 0 : (double) dispatchedOpsInLayers / layers;
        }
    }

    private OpProfile() {
    }

    /** Runs {@code call} on this thread under the profiler and counts what ran inside the module's {@code forward}. */
    public static Counts of(Runnable call) {
        Path trace;
        try {
            trace = Files.createTempFile("gemma-ops-", ".json");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            JniUtils.startProfile(false, false, false);
            try {
                call.run();
            } finally {
                JniUtils.stopProfile(trace.toString());
            }
            return count(new ObjectMapper().readTree(trace.toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the profiler trace " + trace, e);
        } finally {
            try {
                Files.deleteIfExists(trace);
            } catch (IOException ignored) {
                // a temporary file
            }
        }
    }

    private record Event(String name, double start, double end, long tid) {
        boolean aten() {
            return name.startsWith("aten::");
        }
    }

    /** Counts from a Chrome trace (the profiler's output): nesting follows from the intervals on each thread. */
    static Counts count(JsonNode trace) {
        List<Event> events = new ArrayList<>();
        for (JsonNode e : trace) {
            if ("X".equals(e.path("ph").asText())) {
                double ts = e.path("ts").asDouble();
                events.add(new Event(e.path("name").asText(), ts, ts + e.path("dur").asDouble(), e.path("tid").asLong()));
            }
        }
        // Parents first: earlier start, then the longer interval.
        events.sort(Comparator.comparingLong(Event::tid).thenComparingDouble(Event::start)
                .thenComparing(Comparator.comparingDouble(Event::end).reversed()));
        int graph = 0;
        int dispatched = 0;
        int layers = 0;
        int graphInLayers = 0;
        int dispatchedInLayers = 0;
        Deque<Event> open = new ArrayDeque<>();
        long tid = Long.MIN_VALUE;
        for (Event e : events) {
            if (e.tid() != tid) {
                open.clear();
                tid = e.tid();
            }
            while (!open.isEmpty() && open.peek().end() <= e.start()) {
                open.pop();
            }
            boolean inForward = false;
            boolean inLayer = false;
            boolean inAten = false;
            for (Event o : open) {
                inForward |= o.name().equals("forward");
                inLayer |= o.name().equals("layer");
                inAten |= o.aten();
            }
            if (e.name().equals("layer") && inForward) {
                layers++;
            }
            if (e.aten() && inForward) {
                dispatched++;
                dispatchedInLayers += inLayer ? 1 : 0;
                if (!inAten) {
                    graph++;
                    graphInLayers += inLayer ? 1 : 0;
                }
            }
            open.push(e);
        }
        return new Counts(graph, dispatched, layers, graphInLayers, dispatchedInLayers);
    }
}
