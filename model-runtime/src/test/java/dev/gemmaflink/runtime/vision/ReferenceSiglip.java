package dev.gemmaflink.runtime.vision;

import java.util.Map;

/**
 * An independent double-precision forward pass of the SigLIP tower and the Gemma 3 projector for one image,
 * written from the transformers definitions (SiglipVisionEmbeddings, SiglipEncoderLayer, post_layernorm,
 * Gemma3MultiModalProjector) with plain loops. Shares no code with the runtime. Public for the multimodal
 * generation test of the model package.
 */
public final class ReferenceSiglip {
    private final Map<String, float[]> w;
    private final int hidden;
    private final int inter;
    private final int layers;
    private final int heads;
    private final int image;
    private final int patch;
    private final double eps;
    private final int mmTokens;
    private final int textHidden;

    public ReferenceSiglip(Map<String, float[]> weights, int hidden, int inter, int layers, int heads, int image, int patch,
            double eps, int mmTokens, int textHidden) {
        this.w = weights;
        this.hidden = hidden;
        this.inter = inter;
        this.layers = layers;
        this.heads = heads;
        this.image = image;
        this.patch = patch;
        this.eps = eps;
        this.mmTokens = mmTokens;
        this.textHidden = textHidden;
    }

    private float[] t(String name) {
        float[] v = w.get(name);
        if (v == null) {
            throw new IllegalArgumentException("missing " + name);
        }
        return v;
    }

    /** @param px (3, image, image) @return (mmTokens, textHidden) */
    public double[][] forward(float[] px) {
        int g = image / patch;
        int n = g * g;
        String e = "vision_tower.vision_model.embeddings.";
        float[] cw = t(e + "patch_embedding.weight");
        float[] cb = t(e + "patch_embedding.bias");
        float[] pos = t(e + "position_embedding.weight");
        double[][] h = new double[n][hidden];
        for (int gy = 0; gy < g; gy++) {
            for (int gx = 0; gx < g; gx++) {
                int p = gy * g + gx;
                for (int o = 0; o < hidden; o++) {
                    double acc = cb[o];
                    for (int c = 0; c < 3; c++) {
                        for (int ky = 0; ky < patch; ky++) {
                            for (int kx = 0; kx < patch; kx++) {
                                acc += px[(c * image + gy * patch + ky) * image + gx * patch + kx]
                                        * (double) cw[((o * 3 + c) * patch + ky) * patch + kx];
                            }
                        }
                    }
                    h[p][o] = acc + pos[p * hidden + o];
                }
            }
        }
        for (int l = 0; l < layers; l++) {
            String pre = "vision_tower.vision_model.encoder.layers." + l + ".";
            double[][] x = layerNorm(h, t(pre + "layer_norm1.weight"), t(pre + "layer_norm1.bias"));
            double[][] q = linear(x, t(pre + "self_attn.q_proj.weight"), t(pre + "self_attn.q_proj.bias"));
            double[][] k = linear(x, t(pre + "self_attn.k_proj.weight"), t(pre + "self_attn.k_proj.bias"));
            double[][] v = linear(x, t(pre + "self_attn.v_proj.weight"), t(pre + "self_attn.v_proj.bias"));
            int d = hidden / heads;
            double scale = 1.0 / Math.sqrt(d);
            double[][] a = new double[n][hidden];
            for (int hd = 0; hd < heads; hd++) {
                for (int i = 0; i < n; i++) {
                    double[] s = new double[n];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        double dot = 0;
                        for (int z = 0; z < d; z++) {
                            dot += q[i][hd * d + z] * k[j][hd * d + z];
                        }
                        s[j] = dot * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j < n; j++) {
                        for (int z = 0; z < d; z++) {
                            a[i][hd * d + z] += s[j] / sum * v[j][hd * d + z];
                        }
                    }
                }
            }
            double[][] o = linear(a, t(pre + "self_attn.out_proj.weight"), t(pre + "self_attn.out_proj.bias"));
            add(h, o);
            x = layerNorm(h, t(pre + "layer_norm2.weight"), t(pre + "layer_norm2.bias"));
            double[][] f = linear(x, t(pre + "mlp.fc1.weight"), t(pre + "mlp.fc1.bias"));
            for (double[] row : f) {
                for (int i = 0; i < row.length; i++) {
                    double u = row[i];
                    row[i] = 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u * u * u)));
                }
            }
            add(h, linear(f, t(pre + "mlp.fc2.weight"), t(pre + "mlp.fc2.bias")));
        }
        h = layerNorm(h, t("vision_tower.vision_model.post_layernorm.weight"),
                t("vision_tower.vision_model.post_layernorm.bias"));
        // projector: (N, C) -> grid (g, g) -> average pool k x k -> (mm, C) -> RMSNorm(1 + w) -> @ W (C, E)
        int side = (int) Math.round(Math.sqrt(mmTokens));
        int k = g / side;
        float[] nw = t("multi_modal_projector.mm_soft_emb_norm.weight");
        float[] pw = t("multi_modal_projector.mm_input_projection_weight");
        double[][] out = new double[mmTokens][textHidden];
        for (int ty = 0; ty < side; ty++) {
            for (int tx = 0; tx < side; tx++) {
                double[] pooled = new double[hidden];
                for (int dy = 0; dy < k; dy++) {
                    for (int dx = 0; dx < k; dx++) {
                        double[] src = h[(ty * k + dy) * g + tx * k + dx];
                        for (int c = 0; c < hidden; c++) {
                            pooled[c] += src[c] / (k * k);
                        }
                    }
                }
                double ms = 0;
                for (double v : pooled) {
                    ms += v * v;
                }
                double r = 1.0 / Math.sqrt(ms / hidden + eps);
                double[] row = out[ty * side + tx];
                for (int c = 0; c < hidden; c++) {
                    double y = pooled[c] * r * (1.0 + nw[c]);
                    for (int j = 0; j < textHidden; j++) {
                        row[j] += y * pw[c * textHidden + j];
                    }
                }
            }
        }
        return out;
    }

    private double[][] layerNorm(double[][] x, float[] g, float[] b) {
        double[][] y = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            double mean = 0;
            for (double v : x[i]) {
                mean += v;
            }
            mean /= x[i].length;
            double var = 0;
            for (double v : x[i]) {
                var += (v - mean) * (v - mean);
            }
            var /= x[i].length;
            y[i] = new double[x[i].length];
            for (int j = 0; j < x[i].length; j++) {
                y[i][j] = (x[i][j] - mean) / Math.sqrt(var + eps) * g[j] + b[j];
            }
        }
        return y;
    }

    /** y = x W^T + b with W stored (out, in). */
    private static double[][] linear(double[][] x, float[] wt, float[] b) {
        int out = b.length;
        int in = wt.length / out;
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double acc = b[o];
                for (int j = 0; j < in; j++) {
                    acc += x[i][j] * wt[o * in + j];
                }
                y[i][o] = acc;
            }
        }
        return y;
    }

    private static void add(double[][] h, double[][] d) {
        for (int i = 0; i < h.length; i++) {
            for (int j = 0; j < h[i].length; j++) {
                h[i][j] += d[i][j];
            }
        }
    }

}
