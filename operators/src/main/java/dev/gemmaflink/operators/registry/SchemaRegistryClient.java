package dev.gemmaflink.operators.registry;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.apache.avro.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A client of the Schema Registry REST API as Confluent documents it, on the JDK's {@link HttpClient}; Confluent's
 * own client is not on Maven Central. It uses four endpoints:
 * <ul>
 *   <li>{@code GET /schemas/ids/{id}}: the schema of an id ({@link #schemaById});</li>
 *   <li>{@code POST /subjects/{subject}/versions}: register a schema, answering its id ({@link #register});</li>
 *   <li>{@code POST /subjects/{subject}}: look a schema up under a subject ({@link #lookup});</li>
 *   <li>{@code GET /subjects}: the subjects, for a health check ({@link #ping}).</li>
 * </ul>
 * Requests carry {@code Accept}/{@code Content-Type: application/vnd.schemaregistry.v1+json}, the configured basic
 * or bearer credentials, and run under the connect and request timeouts. A connection failure, a timeout, a 5xx or
 * a 429 is retried, URL after URL, with a back-off that starts at {@code retryBackoff} and doubles up to
 * {@link RegistryConfig#MAX_BACKOFF}, until {@code retryTimeout} has passed: then, and at once for answers no
 * retry changes (401, 403, other 4xx but the documented "not found" ones), a {@link RegistryUnavailableException}.
 *
 * <p>Caching is not done here but by {@link SharedSchemaRegistry}: one per registry and TaskManager. Thread-safe.
 */
public final class SchemaRegistryClient {
    private static final Logger LOG = LoggerFactory.getLogger(SchemaRegistryClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The registry's media type; plain JSON is accepted too. */
    static final String MEDIA_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final String ACCEPT = MEDIA_TYPE + ", application/vnd.schemaregistry+json, application/json";

    /** Confluent's error codes for "not found": subject, version, schema. */
    static final int SUBJECT_NOT_FOUND = 40401;
    static final int VERSION_NOT_FOUND = 40402;
    static final int SCHEMA_NOT_FOUND = 40403;

    private final RegistryConfig config;
    private final HttpClient http;
    private final String authorization;
    private final AtomicLong requests = new AtomicLong();

    public SchemaRegistryClient(RegistryConfig config) {
        this.config = config;
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(config.connectTimeout())
                .followRedirects(HttpClient.Redirect.NEVER);
        SSLContext ssl = sslContext(config.properties());
        if (ssl != null) {
            builder.sslContext(ssl);
        }
        this.http = builder.build();
        this.authorization = authorization(config);
    }

    /** What the registry answered for a schema id. */
    public sealed interface SchemaAnswer {
    }

    /**
     * The id names an Avro schema.
     *
     * @param schema the parsed schema
     */
    public record Found(Schema schema) implements SchemaAnswer {
    }

    /**
     * The registry knows no schema of that id (404, error code 40403).
     *
     * @param message the registry's message
     */
    public record NotFound(String message) implements SchemaAnswer {
    }

    /**
     * The registry answered, but not with an Avro schema: another schema type, an unparsable schema, or a body that
     * is not the documented answer.
     *
     * @param why what was wrong
     */
    public record NotASchema(String why) implements SchemaAnswer {
    }

    /** The settings this client was made with (secrets redacted in its {@code toString}). */
    public RegistryConfig config() {
        return config;
    }

    /** HTTP requests sent so far, retries included (for tests and metrics). */
    public long requestsSent() {
        return requests.get();
    }

    /** {@code GET /schemas/ids/{id}}. */
    public SchemaAnswer schemaById(int id) {
        Response response = send("GET", "/schemas/ids/" + id, null, "fetch schema id " + id);
        if (response.status() == 404) {
            if (response.errorCode() == SCHEMA_NOT_FOUND) {
                return new NotFound(response.message());
            }
            throw response.unexpected("fetch schema id " + id);
        }
        JsonNode body = response.json();
        if (body == null || !body.isObject() || !body.path("schema").isTextual()) {
            return new NotASchema("the answer is not {\"schema\": ...}: " + response.shortBody());
        }
        String type = body.path("schemaType").asText("AVRO");
        if (!"AVRO".equals(type)) {
            return new NotASchema("schema type " + type + ", not AVRO");
        }
        try {
            return new Found(new Schema.Parser().setValidateDefaults(false).parse(body.get("schema").textValue()));
        } catch (RuntimeException e) {
            return new NotASchema("not a parsable Avro schema: " + e.getMessage());
        }
    }

    /** {@code POST /subjects/{subject}/versions}: registers {@code schema} (or finds it registered); its id. */
    public int register(String subject, Schema schema) {
        String what = "register " + schema.getFullName() + " under subject " + subject;
        Response response = send("POST", "/subjects/" + pathSegment(subject) + "/versions", schemaBody(schema), what);
        return response.id(what);
    }

    /**
     * {@code POST /subjects/{subject}}: the id of {@code schema} when it is registered under {@code subject}; empty
     * when the subject or the schema is not there (404, 40401 or 40403).
     */
    public Optional<Integer> lookup(String subject, Schema schema) {
        String what = "look up " + schema.getFullName() + " under subject " + subject;
        Response response = send("POST", "/subjects/" + pathSegment(subject), schemaBody(schema), what);
        if (response.status() == 404) {
            if (response.errorCode() == SUBJECT_NOT_FOUND || response.errorCode() == SCHEMA_NOT_FOUND) {
                return Optional.empty();
            }
            throw response.unexpected(what);
        }
        return Optional.of(response.id(what));
    }

    /** The id of the job's own schema under {@code subject}: registered, or looked up (it must exist then). */
    public int idOf(String subject, Schema schema, boolean autoRegister) {
        if (autoRegister) {
            return register(subject, schema);
        }
        return lookup(subject, schema).orElseThrow(() -> new RegistryUnavailableException(String.format(
                "schema %s (fingerprint %016x) is not registered under subject %s at %s, and "
                        + "schema-registry.auto-register is off: register it, or turn auto-registration on",
                schema.getFullName(), org.apache.avro.SchemaNormalization.parsingFingerprint64(schema), subject,
                config.displayUrls()), null));
    }

    /** {@code GET /subjects}: succeeds when the registry answers. */
    public void ping() {
        send("GET", "/subjects", null, "list subjects");
    }

    // ---- HTTP ----

    private static String schemaBody(Schema schema) {
        ObjectNode body = JSON.createObjectNode();
        body.put("schema", schema.toString());
        return body.toString();
    }

    private static String pathSegment(String subject) {
        return URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /**
     * Sends one request with retries; returns a 2xx or a 404 answer, throws {@link RegistryUnavailableException}
     * for anything else once retrying is over.
     */
    private Response send(String method, String path, String body, String what) {
        long deadline = System.nanoTime() + config.retryTimeout().toNanos();
        Duration backoff = config.retryBackoff();
        int attempt = 0;
        String lastProblem;
        Throwable lastCause;
        while (true) {
            String base = config.urls().get(attempt % config.urls().size());
            attempt++;
            try {
                HttpResponse<String> answer = http.send(request(base, method, path, body),
                        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                requests.incrementAndGet();
                Response response = new Response(answer.statusCode(), answer.body());
                int status = response.status();
                if (status / 100 == 2 || status == 404) {
                    return response;
                }
                if (status != 429 && status / 100 != 5) {
                    throw response.unexpected(what);
                }
                lastProblem = "HTTP " + status + " " + response.shortBody();
                lastCause = null;
            } catch (IOException e) {
                requests.incrementAndGet();
                lastProblem = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
                lastCause = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RegistryUnavailableException("interrupted while trying to " + what, e);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new RegistryUnavailableException(String.format("schema registry %s did not answer to %s "
                        + "after %d attempts in %s (schema-registry.retry-timeout): %s", config.displayUrls(), what,
                        attempt, config.retryTimeout(), lastProblem), lastCause);
            }
            long pause = Math.min(backoff.toNanos(), left);
            LOG.warn("schema registry {}: cannot {} (attempt {}): {}; retrying in {} ms", RegistryConfig.redact(base),
                    what, attempt, lastProblem, pause / 1_000_000);
            try {
                Thread.sleep(pause / 1_000_000, (int) (pause % 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RegistryUnavailableException("interrupted while retrying to " + what, e);
            }
            backoff = backoff.multipliedBy(2).compareTo(RegistryConfig.MAX_BACKOFF) > 0 ? RegistryConfig.MAX_BACKOFF
                    : backoff.multipliedBy(2);
        }
    }

    private HttpRequest request(String base, String method, String path, String body) {
        URI uri = URI.create(base + path);
        String userInfo = uri.getRawUserInfo();
        if (userInfo != null) {
            // Credentials in the URL go in the header (basic.auth.credentials.source URL), never on the wire as is.
            uri = URI.create(uri.getScheme() + "://" + uri.getRawAuthority().substring(userInfo.length() + 1)
                    + uri.getRawPath());
        }
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri).timeout(config.requestTimeout())
                .header("Accept", ACCEPT);
        String auth = authorization != null ? authorization
                : "URL".equals(config.properties().get("basic.auth.credentials.source")) && userInfo != null
                        ? basic(java.net.URLDecoder.decode(userInfo, StandardCharsets.UTF_8)) : null;
        if (auth != null) {
            builder.header("Authorization", auth);
        }
        if (body == null) {
            builder.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            builder.header("Content-Type", MEDIA_TYPE)
                    .method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        }
        return builder.build();
    }

    private static String authorization(RegistryConfig config) {
        String token = config.properties().get("bearer.auth.token");
        if (token != null) {
            return "Bearer " + token;
        }
        String userInfo = config.properties().get("basic.auth.user.info");
        if (userInfo != null && !"URL".equals(config.properties().get("basic.auth.credentials.source"))) {
            return basic(userInfo);
        }
        return null;
    }

    private static String basic(String userInfo) {
        return "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
    }

    /** The TLS context of the pass-through {@code ssl.*} settings; null when none is set (the JDK's default). */
    static SSLContext sslContext(Map<String, String> props) {
        String trustStore = props.get("ssl.truststore.location");
        String keyStore = props.get("ssl.keystore.location");
        if (trustStore == null && keyStore == null && !props.containsKey("ssl.protocol")) {
            return null;
        }
        try {
            TrustManagerFactory tmf = null;
            if (trustStore != null) {
                KeyStore ks = load(trustStore, props.get("ssl.truststore.type"), props.get("ssl.truststore.password"));
                tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(ks);
            }
            KeyManagerFactory kmf = null;
            if (keyStore != null) {
                String storePassword = props.get("ssl.keystore.password");
                KeyStore ks = load(keyStore, props.get("ssl.keystore.type"), storePassword);
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                String keyPassword = props.getOrDefault("ssl.key.password", storePassword);
                kmf.init(ks, keyPassword == null ? new char[0] : keyPassword.toCharArray());
            }
            SSLContext context = SSLContext.getInstance(props.getOrDefault("ssl.protocol", "TLS"));
            context.init(kmf == null ? null : kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(),
                    null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            // The message names files and types, never passwords.
            throw new IllegalArgumentException("schema registry TLS settings (" + RegistryConfig.PROPERTIES_PREFIX
                    + "ssl.*) cannot be used: " + e, e);
        }
    }

    private static KeyStore load(String location, String type, String password)
            throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance(type == null ? KeyStore.getDefaultType() : type);
        try (InputStream in = Files.newInputStream(Path.of(location))) {
            ks.load(in, password == null ? null : password.toCharArray());
        }
        return ks;
    }

    /** One answer of the registry. */
    private record Response(int status, String body) {

        JsonNode json() {
            try {
                return body == null || body.isBlank() ? null : JSON.readTree(body);
            } catch (IOException e) {
                return null;
            }
        }

        /** Confluent's {@code error_code}, or -1. */
        int errorCode() {
            JsonNode json = json();
            return json != null && json.path("error_code").isInt() ? json.get("error_code").intValue() : -1;
        }

        String message() {
            JsonNode json = json();
            return json != null && json.path("message").isTextual() ? json.get("message").textValue() : shortBody();
        }

        String shortBody() {
            String text = body == null ? "" : body.strip();
            return text.length() <= 200 ? text : text.substring(0, 200) + "...";
        }

        int id(String what) {
            JsonNode json = json();
            if (json == null || !json.path("id").isInt()) {
                throw new RegistryUnavailableException("schema registry answered " + what + " without an id: "
                        + shortBody(), null);
            }
            return json.get("id").intValue();
        }

        RegistryUnavailableException unexpected(String what) {
            String hint = status == 401 || status == 403 ? " (check " + RegistryConfig.PROPERTIES_PREFIX
                    + "basic.auth.* / bearer.auth.token)" : "";
            return new RegistryUnavailableException("schema registry refused to " + what + ": HTTP " + status + " "
                    + shortBody() + hint, null);
        }
    }
}
