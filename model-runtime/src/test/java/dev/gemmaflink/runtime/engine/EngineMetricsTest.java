package dev.gemmaflink.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.kvcache.KvCacheUsage;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Batch-size means over a whole run and over the window between two snapshots of the cumulative counters. */
class EngineMetricsTest {

    @Test
    void meanBatchSizeOverTheRunAndSinceAnEarlierSnapshot() {
        MetricsRecorder recorder = new MetricsRecorder(8, new KvCacheUsage(List.of(), 0, 0, 0));
        EngineMetrics start = recorder.snapshot(0, 0);
        assertThat(start.meanBatchSize()).isZero();
        recorder.recordStep(1, 10);
        recorder.recordStep(1, 10);
        EngineMetrics early = recorder.snapshot(0, 0);
        recorder.recordStep(8, 10);
        recorder.recordStep(6, 10);
        recorder.recordStep(12, 10); // above the largest bucket: counted as the maximum batch, 8
        EngineMetrics late = recorder.snapshot(0, 0);

        assertThat(early.meanBatchSize()).isEqualTo(1.0);
        assertThat(late.meanBatchSize()).isEqualTo((1 + 1 + 8 + 6 + 8) / 5.0);
        assertThat(late.meanBatchSizeSince(early)).isEqualTo((8 + 6 + 8) / 3.0);
        assertThat(late.meanBatchSizeSince(start)).isEqualTo(late.meanBatchSize());
        assertThat(late.meanBatchSizeSince(null)).isEqualTo(late.meanBatchSize());
        assertThat(late.meanBatchSizeSince(late)).as("no step in the window").isZero();
    }
}
