package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import dev.gemmaflink.runtime.generate.Sampler;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The device sampler (its TorchScript run by libtorch on the CPU) against the Java reference {@link Sampler}, and
 * against the distribution it must sample from.
 */
class DeviceSamplerTest {

    static DeviceSampler.Standalone device;

    @BeforeAll
    static void load() {
        device = new DeviceSampler.Standalone(Device.cpu());
    }

    @AfterAll
    static void close() {
        device.close();
    }

    /** Random logits; with {@code ties}, rounded to a coarse grid so that equal values are common. */
    private static float[][] logits(int rows, int vocab, long seed, boolean ties) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] l = new float[rows][vocab];
        for (float[] row : l) {
            for (int t = 0; t < vocab; t++) {
                double v = r.nextGaussian() * 3;
                row[t] = ties ? Math.round(v * 2) / 2f : (float) v;
            }
        }
        return l;
    }

    private static int[] reference(float[][] logits, List<SampleRow> rows) {
        return rows.stream().mapToInt(r -> Sampler.sample(logits[r.sequence()], r)).toArray();
    }

    @Test
    void theDevicesNoiseIsTheJavaNoiseBitForBit() {
        SplittableRandom r = new SplittableRandom(3);
        int n = 4096;
        long[] keys = new long[n];
        long[] pos = new long[n];
        long[] seeds = {0, 1, -1, Long.MIN_VALUE, Long.MAX_VALUE, 42, 0x9e3779b97f4a7c15L};
        for (int i = 0; i < n; i++) {
            long seed = i < seeds.length ? seeds[i] : r.nextLong();
            keys[i] = SamplingNoise.key(seed);
            pos[i] = i % 3 == 0 ? r.nextInt(Integer.MAX_VALUE) : r.nextInt(10_000);
        }
        double[] u = device.noise(keys, pos);
        double mean = 0;
        for (int i = 0; i < n; i++) {
            assertThat(Double.doubleToRawLongBits(u[i])).as("draw %d", i)
                    .isEqualTo(Double.doubleToRawLongBits(SamplingNoise.uniformOfKey(keys[i], pos[i])));
            assertThat(u[i]).isGreaterThanOrEqualTo(0).isLessThan(1);
            mean += u[i] / n;
        }
        assertThat(mean).isCloseTo(0.5, org.assertj.core.data.Offset.offset(0.02));
        assertThat(SamplingNoise.uniform(7, 100)).isEqualTo(SamplingNoise.uniformOfKey(SamplingNoise.key(7), 100))
                .isNotEqualTo(SamplingNoise.uniform(7, 101)).isNotEqualTo(SamplingNoise.uniform(8, 100));
    }

    @Test
    void greedyIsJavasArgmaxExactlyTiesIncluded() {
        for (boolean ties : new boolean[] {false, true}) {
            float[][] l = logits(70, 1000, ties ? 2 : 1, ties); // 70 rows: two chunks of the device loop
            List<SampleRow> rows = IntStream.range(0, l.length).mapToObj(SampleRow::greedy).toList();
            int[] got = device.sample(l, rows).tokens();
            for (int i = 0; i < l.length; i++) {
                assertThat(got[i]).as("row %d, ties %s", i, ties).isEqualTo(Sampler.argmax(l[i]));
            }
        }
        // All equal: the first id.
        assertThat(device.sample(new float[][] {new float[77]}, List.of(SampleRow.greedy(0))).token(0)).isZero();
    }

    /**
     * Assorted sampled rows (temperature, top-k, top-p, seed, position), every ninth greedy. With {@code uncut}, some
     * rows have no top-k cut (0, the vocabulary, beyond it), so the device sorts whole rows; without, every row has a
     * cut and the device takes its {@code topk} path.
     */
    private static List<SampleRow> assortedRows(int n, int vocab, long seed, boolean uncut) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] temps = {0.3, 0.7, 1.0, 1.3, 2.5};
        int[] ks = uncut ? new int[] {0, 1, 2, 5, 40, vocab, vocab + 10} : new int[] {1, 2, 5, 40, 64};
        double[] ps = {1.0, 0.95, 0.5, 0.1, 1e-9};
        List<SampleRow> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(i % 9 == 4 ? SampleRow.greedy(i)
                    : SampleRow.sampled(i, temps[r.nextInt(temps.length)], ks[r.nextInt(ks.length)],
                            ps[r.nextInt(ps.length)], r.nextLong(), r.nextInt(4096)));
        }
        return rows;
    }

    /**
     * Exact agreement on 150 rows (three device chunks) of assorted settings, with and without tied logits (ties at
     * the top-k boundary take the device's topk over int64 sort keys; without ties it takes topk and re-sorts the
     * candidates).
     */
    @Test
    void seededSamplingIsTheJavaReferencesChoice() {
        for (boolean uncut : new boolean[] {false, true}) {
            for (boolean ties : new boolean[] {false, true}) {
                int vocab = 300;
                float[][] l = logits(150, vocab, ties ? 12 : 11, ties);
                List<SampleRow> rows = assortedRows(l.length, vocab, ties ? 14 : 13, uncut);
                assertThat(device.sample(l, rows).tokens()).as("ties %s, uncut %s", ties, uncut)
                        .containsExactly(reference(l, rows));
            }
        }
    }

    /**
     * Both ways a tie at the top-k boundary is settled, on rows built for them (top-k 4, uniform logits inside the
     * tie so every candidate is drawn): a tie of three tokens at the fourth value is settled among the nine
     * candidates; a tie of twenty among the whole row. The tied ids are out of order so that topk's own order is not
     * the reference's by chance. 600 draws per row, each the Java reference's choice.
     */
    @Test
    void tiesAtTheTopKBoundaryFollowTheReferencesIdOrder() {
        int vocab = 1000;
        float[] small = new float[vocab];
        float[] large = new float[vocab];
        for (int t = 0; t < vocab; t++) {
            small[t] = -5 - t / 1000f;
            large[t] = -5 - t / 1000f;
        }
        small[700] = 3;
        small[40] = 2;
        for (int id : new int[] {900, 10, 500}) {
            small[id] = 1; // the 3rd to 5th largest: tied across the boundary of k = 4
        }
        large[3] = 3;
        for (int i = 0; i < 20; i++) {
            large[(997 - 53 * i + vocab) % vocab] = 1; // 20 tokens tied at the 2nd value: more than 2k + 1 candidates
        }
        float[][] l = {small, large};
        List<SampleRow> rows = new ArrayList<>();
        List<Integer> drawnSmall = new ArrayList<>();
        for (int pos = 0; pos < 300; pos++) {
            for (int row = 0; row < 2; row++) {
                rows.add(new SampleRow(row, 100f, 4, 1f, 5, pos, false, null)); // T = 100: nearly uniform
            }
        }
        int[] got = device.sample(l, rows).tokens();
        assertThat(got).containsExactly(reference(l, rows));
        for (int i = 0; i < got.length; i += 2) {
            drawnSmall.add(got[i]);
        }
        // Candidates of the first row: 700, 40, then the tied 10 and 500 (smallest ids first), never 900.
        assertThat(drawnSmall).contains(700, 40, 10, 500).doesNotContain(900);
    }

    @Test
    void theSameSeedAndPositionGiveTheSameTokenInAnyBatch() {
        int vocab = 500;
        float[][] l = logits(100, vocab, 21, false);
        List<SampleRow> rows = assortedRows(l.length, vocab, 22, false);
        int[] together = device.sample(l, rows).tokens();
        // Alone, each row on its own.
        for (int i = 0; i < l.length; i += 7) {
            SampleRow r = rows.get(i);
            SampleRow alone = new SampleRow(0, r.temperature(), r.topK(), r.topP(), r.seed(), r.position(), false, null);
            assertThat(device.sample(new float[][] {l[i]}, List.of(alone)).token(0)).as("row %d", i)
                    .isEqualTo(together[i]);
        }
        // Reversed, so rows change places and device chunks (64 rows each), and greedy-only peers change kmax.
        List<SampleRow> reversed = new ArrayList<>(rows);
        java.util.Collections.reverse(reversed);
        int[] back = device.sample(l, reversed).tokens();
        for (int i = 0; i < l.length; i++) {
            assertThat(back[l.length - 1 - i]).isEqualTo(together[i]);
        }
        // And across runs.
        assertThat(device.sample(l, rows).tokens()).containsExactly(together);
    }

    @Test
    void topKOneAndATinyTopPAreGreedy() {
        for (boolean ties : new boolean[] {false, true}) {
            float[][] l = logits(40, 300, ties ? 32 : 31, ties);
            List<SampleRow> k1 = new ArrayList<>();
            List<SampleRow> p0 = new ArrayList<>();
            for (int i = 0; i < l.length; i++) {
                k1.add(SampleRow.sampled(i, 0.5 + i % 3, 1, 1.0, i, i));
                p0.add(SampleRow.sampled(i, 0.5 + i % 3, 0, 1e-9, i, i));
            }
            int[] a = device.sample(l, k1).tokens();
            int[] b = device.sample(l, p0).tokens();
            for (int i = 0; i < l.length; i++) {
                assertThat(a[i]).as("top-k 1, row %d", i).isEqualTo(Sampler.argmax(l[i]));
                assertThat(b[i]).as("top-p 1e-9, row %d", i).isEqualTo(Sampler.argmax(l[i]));
            }
        }
    }

    /**
     * softmax(logits / T) over the k largest (ties: smaller id first), cut to the shortest prefix reaching p and
     * renormalised: written independently of both samplers.
     */
    private static double[] expected(float[] logits, double t, int k, double p) {
        Integer[] order = IntStream.range(0, logits.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -logits[i]).thenComparingInt(i -> i));
        int kk = k == 0 ? logits.length : Math.min(k, logits.length);
        double[] w = new double[kk];
        double sum = 0;
        for (int i = 0; i < kk; i++) {
            w[i] = Math.exp((logits[order[i]] - logits[order[0]]) / t);
            sum += w[i];
        }
        int keep = kk;
        double cum = 0;
        for (int i = 0; i < kk && p < 1; i++) {
            cum += w[i] / sum;
            if (cum >= p) {
                keep = i + 1;
                break;
            }
        }
        double kept = 0;
        for (int i = 0; i < keep; i++) {
            kept += w[i];
        }
        double[] out = new double[logits.length];
        for (int i = 0; i < keep; i++) {
            out[order[i]] = w[i] / kept;
        }
        return out;
    }

    /** Chi-square critical values at significance 0.001, by degrees of freedom 1..7. */
    private static final double[] CHI2_999 = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32};

    /** Pearson's statistic of {@code counts} against {@code probs}; infinite when a token of probability 0 occurs. */
    private static double chiSquare(int[] counts, double[] probs, int n) {
        double x = 0;
        for (int t = 0; t < counts.length; t++) {
            double e = probs[t] * n;
            if (e == 0) {
                if (counts[t] > 0) {
                    return Double.POSITIVE_INFINITY;
                }
                continue;
            }
            x += (counts[t] - e) * (counts[t] - e) / e;
        }
        return x;
    }

    /**
     * Empirical frequencies over 20,000 draws (positions 0..9,999 of two seeds) match softmax(logits / T) after the
     * top-k and top-p cuts: Pearson's chi-square below its 0.001 critical value, and no token outside the kept set.
     * The same counts are far from (chi-square above the critical value, or an impossible token) the distribution
     * with temperature, top-k or top-p ignored, so the test fails if the sampler ignored any of them.
     */
    @Test
    void frequenciesFollowTheFilteredSoftmax() {
        float[] l = {2.0f, 1.6f, 1.3f, 1.0f, 0.7f, 0.5f, 0.2f, -0.5f};
        double[][] configs = { // T, k, p
            {0.7, 5, 0.8}, // p keeps 3 of the 5 (with T ignored it keeps 4)
            {1.5, 3, 1.0}, // only top-k cuts
            {1.0, 0, 0.6}, // only top-p cuts (keeps 3)
            {0.5, 0, 1.0}, // temperature alone
        };
        int n = 20_000;
        for (double[] c : configs) {
            double t = c[0];
            int k = (int) c[1];
            double p = c[2];
            List<SampleRow> rows = new ArrayList<>();
            float[][] one = {l};
            for (int i = 0; i < n; i++) {
                rows.add(SampleRow.sampled(0, t, k, p, i % 2 == 0 ? 1234 : -99, i / 2));
            }
            int[] got = device.sample(one, rows).tokens();
            int[] counts = new int[l.length];
            for (int tok : got) {
                counts[tok]++;
            }
            double[] want = expected(l, t, k, p);
            int df = (int) Arrays.stream(want).filter(x -> x > 0).count() - 1;
            String what = String.format("T=%s k=%d p=%s counts=%s", t, k, p, Arrays.toString(counts));
            assertThat(chiSquare(counts, want, n)).as(what).isLessThan(CHI2_999[Math.max(df, 1)]);
            // Power: each ignored parameter gives a distribution these counts reject.
            List<double[]> ignored = new ArrayList<>();
            if (t != 1.0) {
                ignored.add(expected(l, 1.0, k, p));
            }
            if (k != 0) {
                ignored.add(expected(l, t, 0, p));
            }
            if (p < 1) {
                ignored.add(expected(l, t, k, 1.0));
            }
            for (double[] alt : ignored) {
                int altDf = (int) Arrays.stream(alt).filter(x -> x > 0).count() - 1;
                assertThat(chiSquare(counts, alt, n)).as(what + " vs " + Arrays.toString(alt))
                        .isGreaterThan(CHI2_999[Math.max(altDf, 1)]);
            }
            // The Java reference draws the same tokens.
            assertThat(got).as(what).containsExactly(reference(one, rows));
        }
    }

    @Test
    void aMaskRestrictsEveryRowToItsAllowedTokens() {
        int vocab = 77; // not a multiple of 32
        float[][] l = logits(30, vocab, 41, true);
        TokenMask few = TokenMask.of(vocab, 3, 40, 64, 76);
        TokenMask one = TokenMask.of(vocab, 33);
        List<SampleRow> rows = new ArrayList<>();
        for (int i = 0; i < l.length; i++) {
            SampleRow r = i % 3 == 0 ? SampleRow.greedy(i) : SampleRow.sampled(i, 1.2, i % 2 == 0 ? 0 : 10, 0.9, i, i);
            rows.add(i % 5 == 4 ? r : r.withMask(i % 7 == 1 ? one : few));
        }
        int[] got = device.sample(l, rows).tokens();
        assertThat(got).containsExactly(reference(l, rows));
        for (int i = 0; i < l.length; i++) {
            TokenMask m = rows.get(i).mask();
            if (m != null) {
                assertThat(m.allows(got[i])).as("row %d got %d", i, got[i]).isTrue();
            }
        }
        // Greedy under a mask: the best allowed token, even when it is far from the best overall.
        float[] row = new float[vocab];
        row[5] = 10;
        row[70] = 1;
        row[71] = 1;
        assertThat(device.sample(new float[][] {row}, List.of(SampleRow.greedy(0)
                .withMask(TokenMask.of(vocab, 71, 70, 2)))).token(0)).isEqualTo(70);
        assertThatThrownBy(() -> TokenMask.of(vocab)).hasMessageContaining("at least one token");
        assertThatThrownBy(() -> TokenMask.of(vocab, 77)).hasMessageContaining("outside the vocabulary");
    }

    @Test
    void logprobsAreReturnedOnlyWhereAskedAndAreTheLogSoftmax() {
        float[][] l = logits(6, 200, 51, false);
        TokenMask mask = TokenMask.of(200, 1, 2, 3, 150);
        List<SampleRow> rows = List.of(SampleRow.greedy(0).withLogprob(), SampleRow.greedy(1),
                SampleRow.sampled(2, 0.8, 20, 0.9, 5, 17).withLogprob(),
                SampleRow.sampled(3, 0.8, 20, 0.9, 5, 17).withLogprob().withMask(mask),
                SampleRow.greedy(4).withMask(mask).withLogprob(), SampleRow.sampled(5, 1, 0, 1, 9, 3));
        SampledTokens got = device.sample(l, rows);
        assertThat(got.logprob(1)).isNaN();
        assertThat(got.logprob(5)).isNaN();
        for (int i : new int[] {0, 2, 3, 4}) {
            double want = Sampler.logprob(l[i], rows.get(i), got.token(i)); // float64 reference
            assertThat(got.logprob(i)).as("row %d", i).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-4));
        }
    }

    @Test
    void rowsAreValidated() {
        assertThatThrownBy(() -> SampleRow.sampled(0, -1, 0, 1, 0, 0)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> SampleRow.sampled(0, 1, -1, 1, 0, 0)).hasMessageContaining("topK");
        assertThatThrownBy(() -> SampleRow.sampled(0, 1, 0, 0, 0, 0)).hasMessageContaining("topP");
        assertThatThrownBy(() -> SampleRow.sampled(0, 1, 0, 1, 0, -1)).hasMessageContaining("position");
        assertThatThrownBy(() -> device.sample(new float[][] {new float[10]},
                List.of(SampleRow.greedy(0).withMask(TokenMask.of(11, 1))))).hasMessageContaining("mask over 11");
    }
}
