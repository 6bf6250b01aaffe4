package dev.gemmaflink.runtime.model;

import java.util.List;
import java.util.Map;

/**
 * An independent Gemma 3 text forward pass for tests: double precision, plain loops, written from
 * gemma3-reference.md. It shares no code with the runtime: it reads weights from a map of canonical tensor name to
 * row-major float values and takes its sizes as plain numbers.
 */
final class ReferenceGemma {

    /** The sizes the reference needs, given as plain values. */
    record Dims(int layers, int hidden, int intermediate, int heads, int kvHeads, int headDim, int vocab, int window,
            double eps, double queryPreAttnScalar, double localTheta, double globalTheta, double globalScaling,
            List<Boolean> globalLayer, double embedScale) {
    }

    private final Dims d;
    private final Map<String, float[]> w;

    ReferenceGemma(Dims dims, Map<String, float[]> weights) {
        this.d = dims;
        this.w = weights;
    }

    private float[] t(String name) {
        float[] v = w.get(name);
        if (v == null) {
            throw new IllegalArgumentException("reference: missing tensor " + name);
        }
        return v;
    }

    private float[] lw(int layer, String suffix) {
        return t("layers." + layer + "." + suffix);
    }

    /** Logits (T, vocab) for every position of {@code ids} (positions 0..T-1). */
    double[][] forward(int[] ids) {
        return forward(ids, null, null);
    }

    /**
     * Logits with image inputs: position i takes {@code soft[i]} as its embedding (unscaled) when not null; a query
     * sees every key with the same {@code span[i] >= 0} regardless of order, all other attention stays causal.
     */
    double[][] forward(int[] ids, double[][] soft, int[] span) {
        int n = ids.length;
        int hid = d.hidden();
        float[] emb = t("embed_tokens.weight");
        double[][] x = new double[n][hid];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < hid; j++) {
                x[i][j] = soft != null && soft[i] != null ? soft[i][j] : emb[ids[i] * hid + j] * d.embedScale();
            }
        }
        int[] spans = span != null ? span : new int[n];
        if (span == null) {
            java.util.Arrays.fill(spans, -1);
        }
        for (int l = 0; l < d.layers(); l++) {
            double[][] a = attention(l, rmsRows(x, lw(l, "input_layernorm.weight")), spans);
            a = rmsRows(a, lw(l, "post_attention_layernorm.weight"));
            add(x, a);
            double[][] m = mlp(l, rmsRows(x, lw(l, "pre_feedforward_layernorm.weight")));
            m = rmsRows(m, lw(l, "post_feedforward_layernorm.weight"));
            add(x, m);
        }
        double[][] f = rmsRows(x, t("norm.weight"));
        return matmulT(f, emb, d.vocab(), hid); // tied output embedding
    }

    private double[][] attention(int l, double[][] x, int[] span) {
        int n = x.length;
        int hd = d.headDim();
        double[][] q = matmulT(x, lw(l, "self_attn.q_proj.weight"), d.heads() * hd, d.hidden());
        double[][] k = matmulT(x, lw(l, "self_attn.k_proj.weight"), d.kvHeads() * hd, d.hidden());
        double[][] v = matmulT(x, lw(l, "self_attn.v_proj.weight"), d.kvHeads() * hd, d.hidden());
        boolean global = d.globalLayer().get(l);
        double theta = global ? d.globalTheta() : d.localTheta();
        double factor = global ? d.globalScaling() : 1.0;
        float[] qn = lw(l, "self_attn.q_norm.weight");
        float[] kn = lw(l, "self_attn.k_norm.weight");
        for (int i = 0; i < n; i++) {
            for (int h = 0; h < d.heads(); h++) {
                normAndRope(q[i], h * hd, qn, i, theta, factor);
            }
            for (int h = 0; h < d.kvHeads(); h++) {
                normAndRope(k[i], h * hd, kn, i, theta, factor);
            }
        }
        double scale = Math.pow(d.queryPreAttnScalar(), -0.5);
        int group = d.heads() / d.kvHeads();
        double[][] out = new double[n][d.heads() * hd];
        for (int h = 0; h < d.heads(); h++) {
            int kvh = h / group;
            for (int i = 0; i < n; i++) {
                double[] s = new double[n];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    boolean visible = j <= i && (global || j > i - d.window())
                            || span[i] >= 0 && span[i] == span[j];
                    if (!visible) {
                        s[j] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double dot = 0;
                    for (int c = 0; c < hd; c++) {
                        dot += q[i][h * hd + c] * k[j][kvh * hd + c];
                    }
                    s[j] = dot * scale;
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    s[j] = s[j] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(s[j] - max);
                    sum += s[j];
                }
                for (int j = 0; j < n; j++) {
                    double p = s[j] / sum;
                    for (int c = 0; c < hd; c++) {
                        out[i][h * hd + c] += p * v[j][kvh * hd + c];
                    }
                }
            }
        }
        return matmulT(out, lw(l, "self_attn.o_proj.weight"), d.hidden(), d.heads() * hd);
    }

    /** RMSNorm over one head (offset off, headDim values) with (1 + w), then rotate-half RoPE at position pos. */
    private void normAndRope(double[] row, int off, float[] w, int pos, double theta, double factor) {
        int hd = d.headDim();
        double ms = 0;
        for (int c = 0; c < hd; c++) {
            ms += row[off + c] * row[off + c];
        }
        double r = 1.0 / Math.sqrt(ms / hd + d.eps());
        for (int c = 0; c < hd; c++) {
            row[off + c] = row[off + c] * r * (1.0 + w[c]);
        }
        int half = hd / 2;
        for (int i = 0; i < half; i++) {
            double invFreq = 1.0 / Math.pow(theta, (2.0 * i) / hd) / factor;
            double ang = pos * invFreq;
            double c = Math.cos(ang);
            double s = Math.sin(ang);
            double a = row[off + i];
            double b = row[off + i + half];
            row[off + i] = a * c - b * s;
            row[off + i + half] = b * c + a * s;
        }
    }

    private double[][] mlp(int l, double[][] x) {
        int inter = d.intermediate();
        double[][] g = matmulT(x, lw(l, "mlp.gate_proj.weight"), inter, d.hidden());
        double[][] u = matmulT(x, lw(l, "mlp.up_proj.weight"), inter, d.hidden());
        for (int i = 0; i < g.length; i++) {
            for (int j = 0; j < inter; j++) {
                double z = g[i][j];
                double gelu = 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z)));
                g[i][j] = gelu * u[i][j];
            }
        }
        return matmulT(g, lw(l, "mlp.down_proj.weight"), d.hidden(), inter);
    }

    private double[][] rmsRows(double[][] x, float[] w) {
        double[][] y = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            double ms = 0;
            for (double v : x[i]) {
                ms += v * v;
            }
            double r = 1.0 / Math.sqrt(ms / x[i].length + d.eps());
            y[i] = new double[x[i].length];
            for (int j = 0; j < x[i].length; j++) {
                y[i][j] = x[i][j] * r * (1.0 + w[j]);
            }
        }
        return y;
    }

    /** x (n, in) times W^T where W is (out, in) row-major. */
    private static double[][] matmulT(double[][] x, float[] wt, int out, int in) {
        if (wt.length != (long) out * in) {
            throw new IllegalArgumentException("reference: weight has " + wt.length + " values, expected " + out + "x" + in);
        }
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double s = 0;
                int base = o * in;
                for (int c = 0; c < in; c++) {
                    s += x[i][c] * wt[base + c];
                }
                y[i][o] = s;
            }
        }
        return y;
    }

    private static void add(double[][] x, double[][] y) {
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[i].length; j++) {
                x[i][j] += y[i][j];
            }
        }
    }
}
