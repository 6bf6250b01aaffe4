package dev.gemmaflink.operators.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

import dev.gemmaflink.operators.enrich.EnricherProvider;
import dev.gemmaflink.operators.kafka.KafkaClientProperties;
import dev.gemmaflink.operators.registry.RegistryConfig;
import dev.gemmaflink.operators.registry.WireFormat;
import dev.gemmaflink.operators.model.DeadLetters;

/**
 * Builds the job {@link Configuration}: defaults, then a YAML file, then {@code key=value} overrides.
 *
 * <p>Nested YAML maps are flattened to dotted keys ({@code kafka: {result-topic: x}} is {@code kafka.result-topic}),
 * YAML lists become Flink lists. Every key must be a known option ({@link EnrichmentOptions#ALL} and the options of
 * every {@link EnricherProvider}) or start with {@code flink.}; every value must parse and be in range. Anything
 * else is refused with an {@link IllegalArgumentException} naming the key, the value and what was expected, so a
 * typo fails at start instead of being ignored.
 */
public final class OptionsLoader {

    private OptionsLoader() {
    }

    /**
     * Loads and validates the configuration.
     *
     * @param yamlFile optional YAML file; null for none
     * @param overrides {@code key -> value} pairs applied after the file (command line)
     */
    public static Configuration load(Path yamlFile, Map<String, String> overrides) {
        Map<String, String> raw = new LinkedHashMap<>();
        if (yamlFile != null) {
            raw.putAll(readYaml(yamlFile));
        }
        raw.putAll(Objects.requireNonNull(overrides, "overrides"));
        return fromMap(raw);
    }

    /** Parses {@code key=value} strings as given on a command line. */
    public static Map<String, String> parseOverrides(List<String> assignments) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String assignment : assignments) {
            int eq = assignment.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("override '" + assignment + "' is not of the form key=value");
            }
            out.put(assignment.substring(0, eq).trim(), assignment.substring(eq + 1).trim());
        }
        return out;
    }

    /** Validates flat {@code key -> value} strings into a configuration. */
    public static Configuration fromMap(Map<String, String> raw) {
        Map<String, ConfigOption<?>> known = knownOptions();
        for (String key : raw.keySet()) {
            if (KafkaClientProperties.isPassThrough(key)) {
                KafkaClientProperties.validate(key);
                continue;
            }
            if (RegistryConfig.isPassThrough(key)) {
                RegistryConfig.validatePassThrough(key);
                continue;
            }
            if (!key.startsWith(EnrichmentOptions.FLINK_PREFIX) && !known.containsKey(key)) {
                throw new IllegalArgumentException(String.format("unknown option '%s'%s; known options: %s", key,
                        suggestion(key, known.keySet()), String.join(", ", new TreeMap<>(known).keySet())));
            }
        }
        Configuration conf = Configuration.fromMap(raw);
        for (ConfigOption<?> option : known.values()) {
            Object value;
            try {
                value = conf.get(option);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(String.format("invalid value '%s' for option '%s': %s",
                        raw.get(option.key()), option.key(), rootMessage(e)), e);
            }
            checkRange(option, value);
        }
        if (conf.get(EnrichmentOptions.TRANSACTION_TIMEOUT).compareTo(conf.get(EnrichmentOptions.CHECKPOINT_INTERVAL))
                <= 0) {
            // A transaction lives at least one checkpoint interval; the broker would abort it before the commit.
            throw new IllegalArgumentException(String.format(
                    "option 'kafka.transaction-timeout' (%s) must be longer than 'job.checkpoint-interval' (%s)",
                    conf.get(EnrichmentOptions.TRANSACTION_TIMEOUT), conf.get(EnrichmentOptions.CHECKPOINT_INTERVAL)));
        }
        checkDeadLetterFitsRequestSize(conf);
        checkWireFormats(conf);
        return conf;
    }

    /** Output formats are concrete; the confluent format needs a registry, whose settings must be usable. */
    private static void checkWireFormats(Configuration conf) {
        for (ConfigOption<WireFormat> option : List.of(EnrichmentOptions.RESULT_FORMAT,
                EnrichmentOptions.DEAD_LETTER_FORMAT)) {
            if (conf.get(option) == WireFormat.AUTO) {
                throw new IllegalArgumentException(String.format("option '%s' is auto, which is for input only: "
                        + "write single-object, confluent or json", option.key()));
            }
        }
        for (ConfigOption<WireFormat> option : List.of(EnrichmentOptions.REQUEST_FORMAT,
                EnrichmentOptions.RESULT_FORMAT, EnrichmentOptions.DEAD_LETTER_FORMAT)) {
            if (conf.get(option) == WireFormat.CONFLUENT && conf.get(EnrichmentOptions.SCHEMA_REGISTRY_URL).isBlank()) {
                throw new IllegalArgumentException(String.format("option '%s' is confluent, which needs a schema "
                        + "registry: set '%s'", option.key(), EnrichmentOptions.SCHEMA_REGISTRY_URL.key()));
            }
        }
        if (!conf.get(EnrichmentOptions.SCHEMA_REGISTRY_URL).isBlank()) {
            // Refuses bad URLs, unknown or conflicting client settings, naming no secret. Trust and key stores are
            // read where the client runs (TaskManagers), not here.
            RegistryConfig.from(conf);
        }
    }

    /** The largest dead letter must fit the producers' request size limit, or one bad record would stall the job. */
    private static void checkDeadLetterFitsRequestSize(Configuration conf) {
        long largestDeadLetter = (long) conf.get(EnrichmentOptions.DEAD_LETTER_MAX_ORIGINAL_BYTES)
                + DeadLetters.MAX_OVERHEAD_BYTES;
        int maxRequestSize = KafkaClientProperties.maxRequestSize(conf);
        if (largestDeadLetter > maxRequestSize) {
            throw new IllegalArgumentException(String.format(
                    "option '%s' (%d) plus %d bytes for the rest of a dead letter exceeds the producers' "
                            + "max.request.size (%d, option '%smax.request.size'): lower the first or raise the "
                            + "second (and the topics' max.message.bytes with it)",
                    EnrichmentOptions.DEAD_LETTER_MAX_ORIGINAL_BYTES.key(),
                    conf.get(EnrichmentOptions.DEAD_LETTER_MAX_ORIGINAL_BYTES), DeadLetters.MAX_OVERHEAD_BYTES,
                    maxRequestSize, KafkaClientProperties.PRODUCER_PREFIX));
        }
    }

    /** The {@code flink.*} entries with the prefix removed, for the execution environment. */
    public static Configuration flinkSettings(Configuration conf) {
        Map<String, String> out = new LinkedHashMap<>();
        conf.toMap().forEach((key, value) -> {
            if (key.startsWith(EnrichmentOptions.FLINK_PREFIX)) {
                out.put(key.substring(EnrichmentOptions.FLINK_PREFIX.length()), value);
            }
        });
        return Configuration.fromMap(out);
    }

    /** Every option a key may name: the job's and those of the enricher providers on the class path. */
    public static Map<String, ConfigOption<?>> knownOptions() {
        Map<String, ConfigOption<?>> known = new LinkedHashMap<>();
        EnrichmentOptions.ALL.forEach(o -> known.put(o.key(), o));
        for (EnricherProvider provider : EnricherProvider.all()) {
            provider.options().forEach(o -> known.put(o.key(), o));
        }
        return known;
    }

    private static void checkRange(ConfigOption<?> option, Object value) {
        String key = option.key();
        boolean positive = option == EnrichmentOptions.PARALLELISM || option == EnrichmentOptions.MAX_TEXT_CHARS
                || option == EnrichmentOptions.MAX_IMAGE_BYTES || option == EnrichmentOptions.MAX_NEW_TOKENS
                || option == EnrichmentOptions.MAX_REQUEST_ID_CHARS || option == EnrichmentOptions.MAX_TENANT_CHARS
                || option == EnrichmentOptions.MAX_KEY_CHARS
                || option == EnrichmentOptions.ASYNC_CAPACITY
                || option == EnrichmentOptions.DEAD_LETTER_MAX_ORIGINAL_BYTES;
        if (positive && (Integer) value < 1) {
            throw new IllegalArgumentException(String.format("option '%s' must be at least 1, got %s", key, value));
        }
        boolean notNegative = option == EnrichmentOptions.SOURCE_PARALLELISM
                || option == EnrichmentOptions.INFERENCE_PARALLELISM || option == EnrichmentOptions.INFERENCE_GPU_AMOUNT;
        if (notNegative && ((Number) value).doubleValue() < 0) {
            throw new IllegalArgumentException(String.format("option '%s' must be >= 0, got %s", key, value));
        }
        boolean strictlyPositive = option == EnrichmentOptions.INFERENCE_CPU_CORES
                || option == EnrichmentOptions.INFERENCE_TASK_HEAP_MB || option == EnrichmentOptions.IO_CPU_CORES
                || option == EnrichmentOptions.IO_TASK_HEAP_MB;
        if (strictlyPositive && ((Number) value).doubleValue() <= 0) {
            throw new IllegalArgumentException(String.format("option '%s' must be > 0, got %s", key, value));
        }
        if (value instanceof Duration duration && option != EnrichmentOptions.TRANSACTION_TIMEOUT
                && (duration.isNegative() || duration.isZero())) {
            throw new IllegalArgumentException(String.format("option '%s' must be positive, got %s", key, value));
        }
        if (option == EnrichmentOptions.TRANSACTION_TIMEOUT
                && (((Duration) value).compareTo(Duration.ofSeconds(1)) < 0
                    || ((Duration) value).compareTo(Duration.ofMinutes(15)) > 0)) {
            throw new IllegalArgumentException(String.format(
                    "option '%s' must be between 1 s and the broker default transaction.max.timeout.ms of 15 min, "
                            + "got %s", key, value));
        }
        if (option == EnrichmentOptions.REQUEST_TOPICS && ((List<?>) value).isEmpty()) {
            throw new IllegalArgumentException("option '" + key + "' must name at least one topic");
        }
        // Options whose default is "" mean "off / built-in" when empty (the echo fail marker, gemma templates).
        boolean emptyAllowed = option.hasDefaultValue() && "".equals(option.defaultValue());
        if (value instanceof String s && s.isBlank() && !emptyAllowed) {
            throw new IllegalArgumentException("option '" + key + "' must not be blank");
        }
    }

    private static Map<String, String> readYaml(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read configuration file " + file + ": " + e.getMessage(), e);
        }
        Object root;
        try {
            root = new Load(LoadSettings.builder().setLabel(file.toString()).build()).loadFromString(text);
        } catch (YamlEngineException e) {
            throw new IllegalArgumentException("configuration file " + file + " is not valid YAML: "
                    + e.getMessage(), e);
        }
        Map<String, String> flat = new LinkedHashMap<>();
        if (root == null) {
            return flat;
        }
        if (!(root instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException("configuration file " + file + " must hold a YAML mapping, not "
                    + root.getClass().getSimpleName());
        }
        flatten("", map, flat, file);
        return flat;
    }

    private static void flatten(String prefix, Map<?, ?> map, Map<String, String> out, Path file) {
        for (Map.Entry<?, ?> entry : map.entrySet()) {
            String key = prefix + entry.getKey();
            Object value = entry.getValue();
            if (value instanceof Map<?, ?> nested) {
                flatten(key + ".", nested, out, file);
            } else if (value instanceof List<?> list) {
                List<String> items = new ArrayList<>();
                for (Object item : list) {
                    items.add(String.valueOf(item));
                }
                out.put(key, String.join(";", items));
            } else if (value == null) {
                throw new IllegalArgumentException("option '" + key + "' in " + file + " has no value");
            } else {
                out.put(key, String.valueOf(value));
            }
        }
    }

    private static String suggestion(String key, java.util.Set<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : known) {
            int d = editDistance(key, candidate);
            if (d < bestDistance) {
                bestDistance = d;
                best = candidate;
            }
        }
        return best != null && bestDistance <= 3 ? " (did you mean '" + best + "'?)" : "";
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + t.getMessage() + ")";
    }

    /** Renders the known options as a Markdown table (key, default, description), as in the README. */
    public static String markdownTable() {
        return knownOptions().values().stream()
                .map(o -> String.format("| `%s` | `%s` | %s |", o.key(),
                        o.hasDefaultValue() ? formatDefault(o.defaultValue()) : "(none)",
                        new org.apache.flink.configuration.description.HtmlFormatter().format(o.description()).replace("|", "\\|")))
                .collect(Collectors.joining("\n",
                        "| key | default | meaning |\n|---|---|---|\n", "\n"));
    }

    private static String formatDefault(Object value) {
        if (value instanceof List<?> list) {
            return list.stream().map(String::valueOf).collect(Collectors.joining(";"));
        }
        if (value instanceof String s && s.isEmpty()) {
            return "\"\"";
        }
        if (value instanceof Duration d) {
            return org.apache.flink.util.TimeUtils.formatWithHighestUnit(d);
        }
        return String.valueOf(value);
    }
}
