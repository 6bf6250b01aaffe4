package dev.gemmaflink.runtime.architecture;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The KV cache package is the bottom of the serving stack: the scheduler, the model, vision and the engine consume
 * its types ({@code ChunkSlots}, {@code ImageSpan}), so it must not refer to any of them (that would be a cycle).
 */
class KvCacheBoundaryTest {

    private static final Path KVCACHE = Path.of("src/main/java/dev/gemmaflink/runtime/kvcache");
    private static final Pattern UPPER_LAYER = Pattern.compile(
            "\\bdev\\.gemmaflink\\.runtime\\.(model|engine|vision|sched|generate|tokenizer|weights|tools)\\b");
    private static final Pattern COMMENT = Pattern.compile("(?s)/\\*.*?\\*/|//[^\\n]*");

    @Test
    void kvCacheDoesNotReferToTheLayersAboveIt() throws IOException {
        List<String> offenders;
        try (Stream<Path> files = Files.walk(KVCACHE)) {
            List<Path> sources = files.filter(p -> p.toString().endsWith(".java")).toList();
            assertThat(sources).as("kvcache sources (wrong working directory?)").isNotEmpty();
            offenders = sources.stream().filter(KvCacheBoundaryTest::refersUp).map(Path::toString).toList();
        }
        assertThat(offenders).as("kvcache sources referring to model, engine, vision, sched, ...").isEmpty();
    }

    /** True when the code (comments aside: documentation may point at the consumers) names an upper package. */
    private static boolean refersUp(Path file) {
        try {
            String code = COMMENT.matcher(Files.readString(file)).replaceAll(" ");
            return UPPER_LAYER.matcher(code).find();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
