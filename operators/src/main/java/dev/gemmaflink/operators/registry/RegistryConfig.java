package dev.gemmaflink.operators.registry;

import java.io.Serializable;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.apache.flink.configuration.Configuration;

import dev.gemmaflink.operators.config.EnrichmentOptions;

/**
 * How to reach the schema registry: its URLs, the client settings passed through under
 * {@value #PROPERTIES_PREFIX} (credentials and TLS, named as in Confluent's client), timeouts and retries, and how
 * the job's own output schemas are registered (subject name strategy, auto-registration).
 *
 * <p>Pass-through keys, as {@code kafka.properties.*} does for Kafka ({@value #PROPERTIES_PREFIX}{@code KEY}):
 * <ul>
 *   <li>{@code basic.auth.credentials.source}: {@code USER_INFO} (default) or {@code URL} (the user info of the
 *       registry URL); {@code basic.auth.user.info}: {@code user:password};</li>
 *   <li>{@code bearer.auth.credentials.source}: {@code STATIC_TOKEN} (the only one); {@code bearer.auth.token};</li>
 *   <li>{@code ssl.truststore.location}, {@code ssl.truststore.password}, {@code ssl.truststore.type},
 *       {@code ssl.keystore.location}, {@code ssl.keystore.password}, {@code ssl.keystore.type},
 *       {@code ssl.key.password}, {@code ssl.protocol}.</li>
 * </ul>
 * Any other key is refused at start: this is not Confluent's client, and a setting it would ignore must not look
 * applied. Secrets (passwords, user info, tokens, URL user info) never appear in {@link #toString()} or in logs.
 *
 * @param urls registry base URLs, tried in turn
 * @param properties pass-through client settings, without the prefix
 * @param connectTimeout TCP/TLS connect timeout
 * @param requestTimeout timeout of one HTTP request
 * @param retryTimeout how long an unreachable registry is retried before giving up
 * @param retryBackoff the first pause between retries; it doubles up to {@link #MAX_BACKOFF}
 * @param subjectNameStrategy subject of the job's output schemas
 * @param autoRegister register the output schemas (else look them up: they must be registered already)
 */
public record RegistryConfig(List<String> urls, Map<String, String> properties, Duration connectTimeout,
        Duration requestTimeout, Duration retryTimeout, Duration retryBackoff, SubjectNameStrategy subjectNameStrategy,
        boolean autoRegister) implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Prefix of the pass-through client settings. */
    public static final String PROPERTIES_PREFIX = "schema-registry.properties.";

    /** Longest pause between two retries. */
    public static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

    /** Client settings this client understands (Confluent's names). */
    public static final Set<String> KNOWN_PROPERTIES = Set.of(
            "basic.auth.credentials.source", "basic.auth.user.info",
            "bearer.auth.credentials.source", "bearer.auth.token",
            "ssl.truststore.location", "ssl.truststore.password", "ssl.truststore.type",
            "ssl.keystore.location", "ssl.keystore.password", "ssl.keystore.type", "ssl.key.password",
            "ssl.protocol");

    private static final Set<String> SECRETS = Set.of("basic.auth.user.info", "bearer.auth.token",
            "ssl.truststore.password", "ssl.keystore.password", "ssl.key.password");

    public RegistryConfig {
        urls = List.copyOf(urls);
        properties = Map.copyOf(properties);
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        Objects.requireNonNull(retryTimeout, "retryTimeout");
        Objects.requireNonNull(retryBackoff, "retryBackoff");
        Objects.requireNonNull(subjectNameStrategy, "subjectNameStrategy");
        if (urls.isEmpty()) {
            throw new IllegalArgumentException("option '" + EnrichmentOptions.SCHEMA_REGISTRY_URL.key()
                    + "' names no registry");
        }
        for (String url : urls) {
            URI uri;
            try {
                uri = URI.create(url);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("option '" + EnrichmentOptions.SCHEMA_REGISTRY_URL.key()
                        + "': '" + redact(url) + "' is not a URL", e);
            }
            if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
                throw new IllegalArgumentException("option '" + EnrichmentOptions.SCHEMA_REGISTRY_URL.key()
                        + "': '" + redact(url) + "' is not an http:// or https:// URL");
            }
        }
        properties.keySet().forEach(RegistryConfig::validateProperty);
        String basicSource = properties.getOrDefault("basic.auth.credentials.source", "USER_INFO");
        if (!Set.of("USER_INFO", "URL").contains(basicSource)) {
            throw new IllegalArgumentException(PROPERTIES_PREFIX + "basic.auth.credentials.source must be USER_INFO "
                    + "or URL, got '" + basicSource + "'");
        }
        String bearerSource = properties.getOrDefault("bearer.auth.credentials.source", "STATIC_TOKEN");
        if (!"STATIC_TOKEN".equals(bearerSource)) {
            throw new IllegalArgumentException(PROPERTIES_PREFIX + "bearer.auth.credentials.source must be "
                    + "STATIC_TOKEN, got '" + bearerSource + "'");
        }
        String userInfo = properties.get("basic.auth.user.info");
        if (userInfo != null && !userInfo.contains(":")) {
            throw new IllegalArgumentException(PROPERTIES_PREFIX + "basic.auth.user.info must be user:password");
        }
        if ((userInfo != null || "URL".equals(basicSource)) && properties.containsKey("bearer.auth.token")) {
            throw new IllegalArgumentException("both basic and bearer credentials for the schema registry: set "
                    + PROPERTIES_PREFIX + "basic.auth.* or " + PROPERTIES_PREFIX + "bearer.auth.token, not both");
        }
    }

    /** The registry settings of a job configuration; {@code schema-registry.url} must be set. */
    public static RegistryConfig from(Configuration conf) {
        String urls = conf.get(EnrichmentOptions.SCHEMA_REGISTRY_URL);
        Map<String, String> props = new TreeMap<>();
        conf.toMap().forEach((key, value) -> {
            if (key.startsWith(PROPERTIES_PREFIX) && key.length() > PROPERTIES_PREFIX.length()) {
                props.put(key.substring(PROPERTIES_PREFIX.length()), value);
            }
        });
        return new RegistryConfig(splitUrls(urls), props, conf.get(EnrichmentOptions.SCHEMA_REGISTRY_CONNECT_TIMEOUT),
                conf.get(EnrichmentOptions.SCHEMA_REGISTRY_REQUEST_TIMEOUT),
                conf.get(EnrichmentOptions.SCHEMA_REGISTRY_RETRY_TIMEOUT),
                conf.get(EnrichmentOptions.SCHEMA_REGISTRY_RETRY_BACKOFF),
                conf.get(EnrichmentOptions.SCHEMA_REGISTRY_SUBJECT_NAME_STRATEGY),
                conf.get(EnrichmentOptions.SCHEMA_REGISTRY_AUTO_REGISTER));
    }

    /** Defaults for tools and tests: one URL, no credentials, the options' default timeouts. */
    public static RegistryConfig of(String url, Map<String, String> properties) {
        return new RegistryConfig(splitUrls(url), properties,
                EnrichmentOptions.SCHEMA_REGISTRY_CONNECT_TIMEOUT.defaultValue(),
                EnrichmentOptions.SCHEMA_REGISTRY_REQUEST_TIMEOUT.defaultValue(),
                EnrichmentOptions.SCHEMA_REGISTRY_RETRY_TIMEOUT.defaultValue(),
                EnrichmentOptions.SCHEMA_REGISTRY_RETRY_BACKOFF.defaultValue(),
                EnrichmentOptions.SCHEMA_REGISTRY_SUBJECT_NAME_STRATEGY.defaultValue(),
                EnrichmentOptions.SCHEMA_REGISTRY_AUTO_REGISTER.defaultValue());
    }

    /** The same settings with other retry timings. */
    public RegistryConfig withRetries(Duration retryTimeout, Duration retryBackoff) {
        return new RegistryConfig(urls, properties, connectTimeout, requestTimeout, retryTimeout, retryBackoff,
                subjectNameStrategy, autoRegister);
    }

    /** The same settings with another subject name strategy and auto-registration. */
    public RegistryConfig withSubjects(SubjectNameStrategy strategy, boolean register) {
        return new RegistryConfig(urls, properties, connectTimeout, requestTimeout, retryTimeout, retryBackoff,
                strategy, register);
    }

    /** Whether a configuration key belongs to the pass-through (so option validation accepts it). */
    public static boolean isPassThrough(String key) {
        return key.startsWith(PROPERTIES_PREFIX) && key.length() > PROPERTIES_PREFIX.length();
    }

    /** Refuses a pass-through key this client does not understand, naming the ones it does. */
    public static void validatePassThrough(String key) {
        validateProperty(key.substring(PROPERTIES_PREFIX.length()));
    }

    private static void validateProperty(String clientKey) {
        if (!KNOWN_PROPERTIES.contains(clientKey)) {
            throw new IllegalArgumentException(String.format("unknown schema registry client setting '%s%s'; known: "
                    + "%s", PROPERTIES_PREFIX, clientKey, new java.util.TreeSet<>(KNOWN_PROPERTIES)));
        }
    }

    static List<String> splitUrls(String urls) {
        return Arrays.stream(urls.split(",")).map(String::strip).filter(s -> !s.isEmpty())
                .map(s -> s.endsWith("/") ? s.substring(0, s.length() - 1) : s).toList();
    }

    /** A URL with its user info (credentials) replaced by {@code ***}. */
    public static String redact(String url) {
        int scheme = url.indexOf("://");
        int at = url.indexOf('@');
        int slash = url.indexOf('/', scheme < 0 ? 0 : scheme + 3);
        if (scheme >= 0 && at > scheme && (slash < 0 || at < slash)) {
            return url.substring(0, scheme + 3) + "***@" + url.substring(at + 1);
        }
        return url;
    }

    /** The URLs without their credentials, for messages. */
    public String displayUrls() {
        return urls.stream().map(RegistryConfig::redact).collect(Collectors.joining(","));
    }

    /** No secret: URL user info and secret settings are shown as {@code ***}. */
    @Override
    public String toString() {
        Map<String, String> shown = new TreeMap<>();
        properties.forEach((k, v) -> shown.put(k, SECRETS.contains(k) ? "***" : v));
        return "RegistryConfig[urls=" + displayUrls() + ", properties=" + shown + ", connectTimeout="
                + connectTimeout + ", requestTimeout=" + requestTimeout + ", retryTimeout=" + retryTimeout
                + ", retryBackoff=" + retryBackoff + ", subjectNameStrategy=" + subjectNameStrategy
                + ", autoRegister=" + autoRegister + "]";
    }
}
