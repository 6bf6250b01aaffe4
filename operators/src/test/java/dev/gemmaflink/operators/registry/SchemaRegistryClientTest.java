package dev.gemmaflink.operators.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.gemmaflink.operators.registry.ScriptedHttpEndpoint.Reply;
import dev.gemmaflink.operators.registry.SchemaRegistryClient.Found;
import dev.gemmaflink.operators.registry.SchemaRegistryClient.NotASchema;
import dev.gemmaflink.operators.registry.SchemaRegistryClient.NotFound;
import dev.gemmaflink.schemas.EnrichmentResult;

/** What the registry client sends (paths, bodies, credentials) and how it takes each kind of answer. */
class SchemaRegistryClientTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Schema RESULT = EnrichmentResult.getClassSchema();

    @TempDir
    Path tmp;

    static Reply schemaAnswer(Schema schema) {
        return new Reply(200, JSON.createObjectNode().put("schema", schema.toString()).toString());
    }

    static RegistryConfig config(String url, Map<String, String> props) {
        return RegistryConfig.of(url, props).withRetries(Duration.ofMillis(400), Duration.ofMillis(20));
    }

    @Test
    void fetchesASchemaByIdAndTakesEachKindOfAnswer() throws Exception {
        try (ScriptedHttpEndpoint registry = ScriptedHttpEndpoint.start(r -> switch (r.path()) {
            case "/schemas/ids/1" -> schemaAnswer(RESULT);
            case "/schemas/ids/2" -> new Reply(404, "{\"error_code\":40403,\"message\":\"Schema 2 not found\"}");
            case "/schemas/ids/3" -> new Reply(200, "{\"schemaType\":\"PROTOBUF\",\"schema\":\"syntax = 'proto3';\"}");
            case "/schemas/ids/4" -> new Reply(200, "{\"schema\":\"{not avro\"}");
            case "/schemas/ids/5" -> new Reply(200, "<html>a proxy</html>");
            default -> new Reply(404, "not found");
        })) {
            SchemaRegistryClient client = new SchemaRegistryClient(config(registry.url(), Map.of()));
            assertThat(client.schemaById(1)).isEqualTo(new Found(RESULT));
            assertThat(client.schemaById(2)).isEqualTo(new NotFound("Schema 2 not found"));
            assertThat(client.schemaById(3)).isInstanceOfSatisfying(NotASchema.class,
                    n -> assertThat(n.why()).contains("PROTOBUF"));
            assertThat(client.schemaById(4)).isInstanceOfSatisfying(NotASchema.class,
                    n -> assertThat(n.why()).contains("not a parsable Avro schema"));
            assertThat(client.schemaById(5)).isInstanceOfSatisfying(NotASchema.class,
                    n -> assertThat(n.why()).contains("<html>"));
            // A 404 that is not the registry's "schema not found" is a misconfigured URL: no dead letters for it.
            assertThatThrownBy(() -> client.schemaById(6)).isInstanceOf(RegistryUnavailableException.class)
                    .hasMessageContaining("HTTP 404");
            assertThat(registry.received()).allSatisfy(r -> {
                assertThat(r.method()).isEqualTo("GET");
                assertThat(r.authorization()).isNull();
            });
        }
    }

    @Test
    void registersAndLooksUpWithTheDocumentedBodies() throws Exception {
        try (ScriptedHttpEndpoint registry = ScriptedHttpEndpoint.start(r -> switch (r.method() + " " + r.path()) {
            case "POST /subjects/results-value/versions" -> new Reply(200, "{\"id\":41}");
            case "POST /subjects/results-value" -> new Reply(200,
                    "{\"subject\":\"results-value\",\"id\":41,\"version\":1,\"schema\":\"...\"}");
            case "POST /subjects/missing-value" -> new Reply(404,
                    "{\"error_code\":40401,\"message\":\"Subject 'missing-value' not found.\"}");
            case "POST /subjects/a%20b%2Fc/versions" -> new Reply(200, "{\"id\":42}");
            default -> new Reply(500, "{}");
        })) {
            SchemaRegistryClient client = new SchemaRegistryClient(config(registry.url(), Map.of()));
            assertThat(client.register("results-value", RESULT)).isEqualTo(41);
            assertThat(client.lookup("results-value", RESULT)).contains(41);
            assertThat(client.lookup("missing-value", RESULT)).isEmpty();
            assertThat(client.idOf("results-value", RESULT, false)).isEqualTo(41);
            assertThat(client.register("a b/c", RESULT)).as("subject escaped as one path segment").isEqualTo(42);
            assertThatThrownBy(() -> client.idOf("missing-value", RESULT, false))
                    .isInstanceOf(RegistryUnavailableException.class)
                    .hasMessageContaining("not registered under subject missing-value")
                    .hasMessageContaining("schema-registry.auto-register");

            ScriptedHttpEndpoint.Received first = registry.received().get(0);
            assertThat(first.contentType()).isEqualTo("application/vnd.schemaregistry.v1+json");
            assertThat(JSON.readTree(first.body()).get("schema").textValue()).isEqualTo(RESULT.toString());
            assertThat(JSON.readTree(first.body()).has("schemaType")).as("AVRO is the default type").isFalse();
        }
    }

    @Test
    void sendsBasicOrBearerCredentialsAndNeverShowsThem() throws Exception {
        try (ScriptedHttpEndpoint registry = ScriptedHttpEndpoint.start(r -> schemaAnswer(RESULT))) {
            new SchemaRegistryClient(config(registry.url(), Map.of("basic.auth.user.info", "alice:s3cret!")))
                    .schemaById(1);
            new SchemaRegistryClient(config(registry.url(), Map.of("bearer.auth.token", "tok-123"))).schemaById(1);
            String withUserInfo = registry.url().replace("http://", "http://bob:p%40ss@");
            RegistryConfig fromUrl = config(withUserInfo, Map.of("basic.auth.credentials.source", "URL"));
            new SchemaRegistryClient(fromUrl).schemaById(1);

            assertThat(registry.received()).extracting(ScriptedHttpEndpoint.Received::authorization).containsExactly(
                    "Basic " + Base64.getEncoder().encodeToString("alice:s3cret!".getBytes(StandardCharsets.UTF_8)),
                    "Bearer tok-123",
                    "Basic " + Base64.getEncoder().encodeToString("bob:p@ss".getBytes(StandardCharsets.UTF_8)));

            RegistryConfig secret = config(withUserInfo, Map.of("basic.auth.user.info", "alice:s3cret!",
                    "ssl.truststore.password", "changeit"));
            assertThat(secret.toString()).doesNotContain("s3cret").doesNotContain("changeit")
                    .doesNotContain("p%40ss").contains("***");
            assertThat(secret.displayUrls()).doesNotContain("bob").contains("***@127.0.0.1");
        }
    }

    @Test
    void refusedCredentialsFailAtOnceWithoutRetries() throws Exception {
        try (ScriptedHttpEndpoint registry = ScriptedHttpEndpoint.start(
                r -> new Reply(401, "{\"error_code\":401,\"message\":\"Unauthorized\"}"))) {
            SchemaRegistryClient client = new SchemaRegistryClient(config(registry.url(),
                    Map.of("basic.auth.user.info", "alice:wrong-password")));
            assertThatThrownBy(() -> client.schemaById(1)).isInstanceOf(RegistryUnavailableException.class)
                    .hasMessageContaining("HTTP 401").hasMessageContaining("basic.auth")
                    .hasMessageNotContaining("wrong-password");
            assertThat(registry.received()).hasSize(1);
        }
    }

    @Test
    void serverErrorsAreRetriedWithBackOffUntilTheRegistryAnswers() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        try (ScriptedHttpEndpoint registry = ScriptedHttpEndpoint.start(r -> calls.incrementAndGet() <= 2
                ? new Reply(calls.get() == 1 ? 503 : 429, "{\"error_code\":50001,\"message\":\"busy\"}")
                : schemaAnswer(RESULT))) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url(), Map.of())
                    .withRetries(Duration.ofSeconds(10), Duration.ofMillis(10)));
            assertThat(client.schemaById(1)).isEqualTo(new Found(RESULT));
            assertThat(client.requestsSent()).isEqualTo(3);
        }
    }

    @Test
    void anUnreachableRegistryIsRetriedUntilTheRetryTimeoutThenReportedWithoutCredentials() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        RegistryConfig conf = RegistryConfig.of("http://user:hunter2@127.0.0.1:" + port,
                Map.of("basic.auth.credentials.source", "URL"))
                .withRetries(Duration.ofMillis(300), Duration.ofMillis(20));
        SchemaRegistryClient client = new SchemaRegistryClient(conf);
        long started = System.nanoTime();
        assertThatThrownBy(() -> client.schemaById(9)).isInstanceOfSatisfying(RegistryUnavailableException.class,
                e -> assertThat(e.getMessage()).contains("did not answer to fetch schema id 9")
                        .contains("schema-registry.retry-timeout").doesNotContain("hunter2"));
        long tookMs = (System.nanoTime() - started) / 1_000_000;
        assertThat(tookMs).isBetween(250L, 5_000L);
        assertThat(client.requestsSent()).as("attempts with back-off 20, 40, 80 ms...").isBetween(3L, 8L);
    }

    @Test
    void severalUrlsAreTriedInTurn() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        try (ScriptedHttpEndpoint registry = ScriptedHttpEndpoint.start(r -> schemaAnswer(RESULT))) {
            SchemaRegistryClient client = new SchemaRegistryClient(
                    config("http://127.0.0.1:" + port + ", " + registry.url() + "/", Map.of()));
            assertThat(client.schemaById(1)).isEqualTo(new Found(RESULT));
            assertThat(registry.received()).singleElement().satisfies(r -> assertThat(r.path())
                    .isEqualTo("/schemas/ids/1"));
        }
    }

    @Test
    void talksTlsWithTheConfiguredTrustStoreAndFailsWithoutIt() throws Exception {
        Path keyStore = tmp.resolve("registry.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "registry", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", keyStore.toString(), "-storepass", "store-pw")
                .redirectErrorStream(true).start();
        assertThat(keytool.waitFor()).as(new String(keytool.getInputStream().readAllBytes())).isZero();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(keyStore)) {
            ks.load(in, "store-pw".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "store-pw".toCharArray());
        SSLContext serverTls = SSLContext.getInstance("TLS");
        serverTls.init(kmf.getKeyManagers(), null, null);

        try (ScriptedHttpEndpoint registry = ScriptedHttpEndpoint.startTls(serverTls, r -> schemaAnswer(RESULT))) {
            SchemaRegistryClient trusting = new SchemaRegistryClient(config(registry.url(), Map.of(
                    "ssl.truststore.location", keyStore.toString(), "ssl.truststore.password", "store-pw",
                    "ssl.truststore.type", "PKCS12")));
            assertThat(trusting.schemaById(1)).isEqualTo(new Found(RESULT));

            SchemaRegistryClient untrusting = new SchemaRegistryClient(config(registry.url(), Map.of()));
            assertThatThrownBy(() -> untrusting.schemaById(1)).isInstanceOf(RegistryUnavailableException.class)
                    .hasMessageContaining("SSLHandshakeException");
        }
        assertThatThrownBy(() -> new SchemaRegistryClient(config("https://127.0.0.1:1", Map.of(
                "ssl.truststore.location", keyStore.toString(), "ssl.truststore.password", "wrong-pw"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ssl.")
                .hasMessageNotContaining("wrong-pw");
    }
}
