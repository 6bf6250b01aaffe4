package dev.gemmaflink.runtime.tools.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import dev.gemmaflink.runtime.tokenizer.RealTokenizer;
import dev.gemmaflink.runtime.weights.GemmaWeights;
import dev.gemmaflink.runtime.weights.TensorData;
import dev.gemmaflink.runtime.weights.TensorNaming;
import dev.gemmaflink.runtime.weights.TensorSlot;
import dev.gemmaflink.runtime.weights.TensorTable;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * IO benchmark, a program printing JSON lines (not a test): opening and validating a Gemma 3 1B-shaped bf16
 * checkpoint (a sparse 2 GB file, so only the loader's own work is measured), converting one embedding row,
 * loading the real tokenizer and encoding a sentence.
 *
 * <pre>java -cp target/test-classes:target/classes:$(deps) dev.gemmaflink.runtime.tools.checkpoint.IoBench</pre>
 */
public final class IoBench {
    private IoBench() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("iobench-");
        GemmaConfig cfg;
        try (InputStream in = IoBench.class.getResourceAsStream("/configs/gemma-3-1b-it.json")) {
            cfg = GemmaConfig.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "1b");
        }
        long bytes = writeSparseCheckpoint(dir.resolve("model.safetensors"), cfg);
        for (int run = 0; run < 3; run++) {
            long t0 = System.nanoTime();
            try (GemmaWeights w = GemmaWeights.open(dir, cfg)) {
                long t1 = System.nanoTime();
                TensorData emb = w.embedTokens();
                float[] row = emb.toFloatArray(123_456L * cfg.hiddenSize(), cfg.hiddenSize());
                long t2 = System.nanoTime();
                System.out.printf("{\"bench\":\"open_1b_bf16\",\"run\":%d,\"tensors\":%d,\"file_bytes\":%d,"
                        + "\"open_validate_ms\":%.1f,\"embedding_row_us\":%.1f,\"row_len\":%d}%n", run, w.storedKeys().size(),
                        bytes, (t1 - t0) / 1e6, (t2 - t1) / 1e3, row.length);
            }
        }
        Files.delete(dir.resolve("model.safetensors"));
        Files.delete(dir);

        long t0 = System.nanoTime();
        Path json = RealTokenizer.tokenizerJson();
        long t1 = System.nanoTime();
        try (GemmaTokenizer tok = GemmaTokenizer.load(json)) {
            long t2 = System.nanoTime();
            String s = "Streaming enrichment of events with Gemma 3 on Apache Flink, 한국어와 日本語 too.";
            for (int i = 0; i < 2000; i++) {
                tok.encode(s, true);
            }
            int n = 10_000;
            long t3 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                tok.encode(s, true);
            }
            long t4 = System.nanoTime();
            System.out.printf("{\"bench\":\"real_tokenizer\",\"find_verify_ms\":%.0f,\"load_ms\":%.0f,\"encode_us\":%.1f,"
                    + "\"tokens\":%d}%n", (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t4 - t3) / 1e3 / n, tok.encode(s, true).length);
        }
    }

    /** Header of every expected tensor in bf16, data left as a hole in the file. */
    private static long writeSparseCheckpoint(Path file, GemmaConfig cfg) throws Exception {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        long offset = 0;
        for (TensorSlot slot : TensorTable.of(cfg).text()) {
            long n = 1;
            for (long d : slot.shape()) {
                n *= d;
            }
            ObjectNode t = root.putObject(slot.storedName(TensorNaming.TEXT));
            t.put("dtype", "BF16");
            var shape = t.putArray("shape");
            for (long d : slot.shape()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + 2 * n);
            offset += 2 * n;
        }
        byte[] h = m.writeValueAsBytes(root);
        try (RandomAccessFile r = new RandomAccessFile(file.toFile(), "rw")) {
            r.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            r.write(h);
            r.setLength(8 + h.length + offset);
        }
        return 8 + h.length + offset;
    }
}
