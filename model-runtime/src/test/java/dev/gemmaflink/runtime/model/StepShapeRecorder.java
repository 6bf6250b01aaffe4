package dev.gemmaflink.runtime.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Test support: records the shape of every step {@link GemmaModel} builds while open (its packed section sizes and
 * dimensions, {@code BatchTensors.sizes()} and {@code dims()}), for tests outside this package. One recorder at a
 * time per JVM.
 */
public final class StepShapeRecorder implements AutoCloseable {

    private final Set<List<Long>> shapes = ConcurrentHashMap.newKeySet();
    private final List<long[]> dims = java.util.Collections.synchronizedList(new ArrayList<>());

    /** Starts recording. */
    public StepShapeRecorder() {
        BatchTensors.observer = (s, d) -> {
            List<Long> key = new ArrayList<>();
            Arrays.stream(s).forEach(key::add);
            key.add(-1L);
            Arrays.stream(d).forEach(key::add);
            shapes.add(key);
            dims.add(d);
        };
    }

    /** @return distinct step shapes seen (section sizes and dims together) */
    public int distinctShapes() {
        return shapes.size();
    }

    /** @return the dims of every step seen, in order: {@code [T, N, S, groups]}, then 8 per group */
    public List<long[]> dims() {
        synchronized (dims) {
            return List.copyOf(dims);
        }
    }

    /** @return whether {@code n} is a row bucket ({@link ShapeBuckets#rows}) */
    public static boolean isRowBucket(long n) {
        return ShapeBuckets.isBucket((int) n, 1);
    }

    /** @return whether {@code n} is a context bucket ({@link ShapeBuckets#context}) */
    public static boolean isContextBucket(long n) {
        return ShapeBuckets.isBucket((int) n, GemmaScript.CONTEXT_ALIGN);
    }

    /** @return the row buckets from 1 to {@code max} */
    public static long rowBucketsUpTo(int max) {
        return java.util.stream.IntStream.rangeClosed(1, max).map(ShapeBuckets::rows).filter(b -> b <= max)
                .distinct().count();
    }

    @Override
    public void close() {
        BatchTensors.observer = null;
    }
}
