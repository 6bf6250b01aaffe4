package dev.gemmaflink.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

    @Test
    void quantilesLieWithinTheBucketPrecision() {
        LatencyHistogram h = new LatencyHistogram();
        for (int ms = 1; ms <= 1000; ms++) {
            h.recordMillis(ms);
        }
        assertThat(h.count()).isEqualTo(1000);
        assertThat(h.quantileMillis(0.5)).isCloseTo(500, within(500 * 0.07));
        assertThat(h.quantileMillis(0.99)).isCloseTo(990, within(990 * 0.07));
        assertThat(h.quantileMillis(1.0)).isCloseTo(1000, within(1000 * 0.07));
    }

    @Test
    void emptyHistogramReportsZeroAndSmallValuesAreExact() {
        LatencyHistogram h = new LatencyHistogram();
        assertThat(h.quantileMillis(0.5)).isZero();
        h.record(3);
        h.record(-5); // counted as 0
        assertThat(h.quantileMillis(1.0)).isEqualTo(0.003);
        assertThat(h.quantileMillis(0.5)).isEqualTo(0.0);
        assertThatThrownBy(() -> h.quantileMillis(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("quantile");
    }

    @Test
    void bucketsTileTheRangeWithoutGaps() {
        IntStream.range(0, 300).forEach(b -> {
            assertThat(LatencyHistogram.lowerBound(b + 1)).isEqualTo(LatencyHistogram.upperBound(b) + 1);
            assertThat(LatencyHistogram.bucket(LatencyHistogram.lowerBound(b))).isEqualTo(b);
            assertThat(LatencyHistogram.bucket(LatencyHistogram.upperBound(b))).isEqualTo(b);
        });
    }

    @Test
    void concurrentWritersLoseNoCounts() throws Exception {
        LatencyHistogram h = new LatencyHistogram();
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 10_000; i++) {
                    h.record(i);
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(h.count()).isEqualTo(40_000);
    }
}
