package dev.gemmaflink.operators.architecture;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * The wall between the Flink operators and the model runtime: the operators use the engine through its public API
 * only, so the runtime's internals (KV cache, scheduler, model, weights, tools) can change without touching them;
 * and the runtime knows nothing of Flink or Kafka. A plain source scan (comments ignored): import declarations and
 * fully-qualified names in code.
 */
class ModuleWallTest {

    /**
     * What {@code operators/src/main} may name from {@code dev.gemmaflink.runtime}: the engine's public API and its
     * value types. Classes by their top-level name (their nested types, such as {@code GemmaEngineBuilder}, come
     * with them); a whole package only where the package itself is public API, written {@code some.package.*}.
     * Adding an entry is a decision about the runtime's API: make it here, on purpose.
     */
    static final Set<String> RUNTIME_API_ALLOWED_IN_OPERATORS = Set.of(
            "dev.gemmaflink.runtime.engine.GemmaEngine",
            // The checkpoint's description (config.json): the SQL model provider reads it when a statement is
            // planned, to refuse image input on a text-only checkpoint before anything runs.
            "dev.gemmaflink.runtime.config.GemmaConfig",
            "dev.gemmaflink.runtime.constrain.Constraint",
            "dev.gemmaflink.runtime.constrain.ConstraintException",
            "dev.gemmaflink.runtime.engine.EngineConfig",
            "dev.gemmaflink.runtime.engine.EngineRequest",
            "dev.gemmaflink.runtime.engine.RequestHandle",
            "dev.gemmaflink.runtime.engine.EngineResult",
            "dev.gemmaflink.runtime.engine.EngineFinishReason",
            "dev.gemmaflink.runtime.engine.EngineError",
            "dev.gemmaflink.runtime.engine.EngineMetrics",
            "dev.gemmaflink.runtime.generate.GenerationParams",
            "dev.gemmaflink.runtime.model.Precision",
            "dev.gemmaflink.runtime.tokenizer.ChatFormat",
            "dev.gemmaflink.runtime.vision.PanAndScanOptions");

    private static final String RUNTIME = "dev.gemmaflink.runtime";
    /** Packages the runtime must not depend on. */
    private static final List<String> STREAMING_PACKAGES = List.of("org.apache.flink", "org.apache.kafka");

    private static final Path OPERATORS = JavaSources.moduleDir(".");
    /** Paths in messages are relative to the repository root. */
    private static final Path ROOT = OPERATORS.getParent();
    private static final Path OPERATORS_MAIN = OPERATORS.resolve("src/main/java");
    private static final Path RUNTIME_MODULE = JavaSources.moduleDir("../model-runtime");

    static boolean allowed(JavaSources.Reference ref) {
        String target = ref.target();
        if (ref.isPackage()) {
            return RUNTIME_API_ALLOWED_IN_OPERATORS.contains(target + ".*");
        }
        return RUNTIME_API_ALLOWED_IN_OPERATORS.contains(target)
                || RUNTIME_API_ALLOWED_IN_OPERATORS.contains(target.substring(0, target.lastIndexOf('.')) + ".*");
    }

    @Test
    void operatorsUseOnlyTheRuntimesPublicApi() {
        List<Path> files = JavaSources.javaFiles(OPERATORS_MAIN);
        assertThat(files).as("operator sources under %s", OPERATORS_MAIN)
                .anyMatch(p -> p.endsWith(Path.of("dev/gemmaflink/operators/gemma/GemmaEnricher.java")));
        List<String> violations = new ArrayList<>();
        int seen = 0;
        for (Path file : files) {
            for (JavaSources.Reference ref : JavaSources.references(file, RUNTIME)) {
                seen++;
                if (!allowed(ref)) {
                    violations.add(ROOT.relativize(ref.file()) + ":" + ref.line() + ": "
                            + (ref.isImport() ? "import " : "uses ") + ref.name() + " ("
                            + (ref.isPackage() ? "the whole package " : "") + ref.target()
                            + " is not in RUNTIME_API_ALLOWED_IN_OPERATORS)");
                }
            }
        }
        assertThat(seen).as("references to the runtime found (the scan sees the enricher's imports)").isPositive();
        assertThat(violations)
                .withFailMessage("operators/src/main/java names runtime classes outside the engine's public API "
                        + "(use the API, or add the class to RUNTIME_API_ALLOWED_IN_OPERATORS on purpose):%n  %s",
                        String.join("\n  ", violations))
                .isEmpty();
    }

    @Test
    void theAllowListNamesClassesThatExist() {
        Path runtimeMain = RUNTIME_MODULE.resolve("src/main/java");
        List<String> missing = RUNTIME_API_ALLOWED_IN_OPERATORS.stream()
                .filter(name -> !Files.exists(runtimeMain.resolve(
                        name.endsWith(".*") ? name.substring(0, name.length() - 2).replace('.', '/')
                                : name.replace('.', '/') + ".java")))
                .sorted().toList();
        assertThat(missing).as("entries of RUNTIME_API_ALLOWED_IN_OPERATORS with no source under %s", runtimeMain)
                .isEmpty();
    }

    @Test
    void theRuntimeDependsOnNeitherFlinkNorKafka() {
        List<Path> files = JavaSources.javaFiles(RUNTIME_MODULE.resolve("src/main/java"));
        assertThat(files).as("runtime sources")
                .anyMatch(p -> p.endsWith(Path.of("dev/gemmaflink/runtime/engine/GemmaEngine.java")));
        List<String> violations = new ArrayList<>();
        for (Path file : files) {
            for (String pkg : STREAMING_PACKAGES) {
                for (JavaSources.Reference ref : JavaSources.references(file, pkg)) {
                    violations.add(ROOT.relativize(ref.file()) + ":" + ref.line() + ": "
                            + (ref.isImport() ? "import " : "uses ") + ref.name());
                }
            }
        }
        // Nor through its build: no Flink or Kafka artifact among the runtime's declared dependencies.
        Path pom = RUNTIME_MODULE.resolve("pom.xml");
        String[] lines = JavaSources.read(pom).split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            for (String pkg : STREAMING_PACKAGES) {
                if (Pattern.compile("<groupId>\\s*" + Pattern.quote(pkg) + "[.<\\s]").matcher(lines[i]).find()) {
                    violations.add(ROOT.relativize(pom) + ":" + (i + 1) + ": " + lines[i].strip());
                }
            }
        }
        assertThat(violations)
                .withFailMessage("model-runtime depends on Flink or Kafka (it must stay usable without them):%n  %s",
                        String.join("\n  ", violations))
                .isEmpty();
    }
}
