package dev.gemmaflink.jobs.local;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * An in-memory stand-in for a Schema Registry, in this JVM, serving the subset of Confluent's documented REST API
 * that the job, {@code bin/events} and the tests use, with Confluent's answers and error codes:
 * <ul>
 *   <li>{@code GET /schemas/ids/{id}}: {@code {"schema": ...}} ({@code "schemaType"} when not AVRO), or 404 with
 *       {@code error_code} 40403;</li>
 *   <li>{@code POST /subjects/{subject}/versions} with {@code {"schema": ..., "schemaType"?: ...}}: {@code {"id": N}};
 *       the same schema gets the same id under every subject, and an Avro schema that cannot read the subject's
 *       latest version's data (Confluent's default BACKWARD compatibility) is refused with 409; an unparsable one with
 *       422 (42201);</li>
 *   <li>{@code POST /subjects/{subject}}: {@code {"subject", "id", "version", "schema"}}, or 404 with 40401 (no such
 *       subject) / 40403 (not under it);</li>
 *   <li>{@code GET /subjects}, {@code GET /subjects/{subject}/versions}, {@code GET /subjects/{subject}/versions/{v}}
 *       ({@code latest} too).</li>
 * </ul>
 * Optionally it demands HTTP basic credentials (401 otherwise). It counts the requests it serves per endpoint, so
 * tests can check that a client caches.
 *
 * <p>No Schema Registry server could be had from Maven Central here (Confluent's is not published there, and
 * Apicurio Registry's app needs artifacts Central does not serve, besides a Quarkus build), so the end-to-end tests
 * without Docker and {@code bin/quickstart --format confluent} without {@code --registry} use this one; with Docker,
 * {@code ContainerRegistryPipelineTest} runs the same scenarios against Confluent's own image.
 */
public final class InMemorySchemaRegistry implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MEDIA_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final Pattern SCHEMA_BY_ID = Pattern.compile("/schemas/ids/(-?\\d+)");
    private static final Pattern VERSIONS = Pattern.compile("/subjects/([^/]+)/versions");
    private static final Pattern VERSION = Pattern.compile("/subjects/([^/]+)/versions/([^/]+)");
    private static final Pattern SUBJECT = Pattern.compile("/subjects/([^/]+)");

    private final HttpServer server;
    private final ExecutorService executor;
    private final String requiredAuthorization;

    /** Schemas by id, and ids by (type, canonical text). */
    private final Map<Integer, Stored> byId = new ConcurrentHashMap<>();
    private final Map<String, Integer> idByKey = new ConcurrentHashMap<>();
    /** Subject -> ids of its versions, oldest first. */
    private final Map<String, List<Integer>> subjects = new LinkedHashMap<>();
    private final Map<String, AtomicInteger> served = new ConcurrentHashMap<>();
    private int nextId = 1;

    private InMemorySchemaRegistry(int port, String userInfo) throws IOException {
        this.requiredAuthorization = userInfo == null ? null
                : "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
        this.executor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "in-memory-schema-registry");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /** Starts on a free port of the loopback interface, without authentication. */
    public static InMemorySchemaRegistry start() throws IOException {
        return new InMemorySchemaRegistry(0, null);
    }

    /** Starts on this loopback port (0: a free one), without authentication. */
    public static InMemorySchemaRegistry start(int port) throws IOException {
        return new InMemorySchemaRegistry(port, null);
    }

    /** Starts on a free loopback port, answering 401 unless a request carries basic credentials {@code user:pw}. */
    public static InMemorySchemaRegistry startWithBasicAuth(String userInfo) throws IOException {
        return new InMemorySchemaRegistry(0, userInfo);
    }

    /** {@code http://127.0.0.1:PORT} (or the IPv6 loopback). */
    public String url() {
        InetSocketAddress address = server.getAddress();
        String host = address.getAddress().getHostAddress();
        return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
    }

    /** Requests served for schema id {@code id} ({@code GET /schemas/ids/{id}}), any answer. */
    public int schemaFetches(int id) {
        AtomicInteger n = served.get("GET /schemas/ids/" + id);
        return n == null ? 0 : n.get();
    }

    /** Requests served in all. */
    public int requestsServed() {
        return served.values().stream().mapToInt(AtomicInteger::get).sum();
    }

    /** Registers an Avro schema under a subject directly (as {@code POST .../versions}); its id. */
    public synchronized int register(String subject, Schema schema) {
        Answer answer = registerSchema(subject, schema.toString(), "AVRO");
        if (answer.status() != 200) {
            throw new IllegalArgumentException(answer.body().toString());
        }
        return answer.body().get("id").intValue();
    }

    /** Registers a schema of another type (JSON, PROTOBUF) as text; its id. */
    public synchronized int registerOfType(String subject, String schema, String schemaType) {
        Answer answer = registerSchema(subject, schema, schemaType);
        if (answer.status() != 200) {
            throw new IllegalArgumentException(answer.body().toString());
        }
        return answer.body().get("id").intValue();
    }

    /** The subjects, in registration order. */
    public synchronized List<String> subjects() {
        return List.copyOf(subjects.keySet());
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    // ---- HTTP ----

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            String path = exchange.getRequestURI().getRawPath();
            served.computeIfAbsent(method + " " + path, k -> new AtomicInteger()).incrementAndGet();
            Answer answer;
            if (requiredAuthorization != null
                    && !requiredAuthorization.equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                answer = error(401, 401, "Unauthorized");
            } else {
                byte[] body;
                try (InputStream in = exchange.getRequestBody()) {
                    body = in.readAllBytes();
                }
                answer = route(method, path, body);
            }
            byte[] bytes = JSON.writeValueAsBytes(answer.body());
            exchange.getResponseHeaders().set("Content-Type", MEDIA_TYPE);
            exchange.sendResponseHeaders(answer.status(), bytes.length);
            exchange.getResponseBody().write(bytes);
        }
    }

    private synchronized Answer route(String method, String path, byte[] body) {
        Matcher m;
        if ("GET".equals(method) && (m = SCHEMA_BY_ID.matcher(path)).matches()) {
            Stored stored = byId.get(Integer.parseInt(m.group(1)));
            if (stored == null) {
                return error(404, 40403, "Schema " + m.group(1) + " not found");
            }
            ObjectNode out = JSON.createObjectNode();
            if (!"AVRO".equals(stored.type())) {
                out.put("schemaType", stored.type());
            }
            out.put("schema", stored.text());
            return new Answer(200, out);
        }
        if ("GET".equals(method) && "/subjects".equals(path)) {
            return new Answer(200, JSON.valueToTree(subjects.keySet()));
        }
        if ("GET".equals(method) && (m = VERSION.matcher(path)).matches()) {
            List<Integer> versions = subjects.get(decode(m.group(1)));
            if (versions == null) {
                return error(404, 40401, "Subject '" + decode(m.group(1)) + "' not found.");
            }
            int version = "latest".equals(m.group(2)) ? versions.size() : Integer.parseInt(m.group(2));
            if (version < 1 || version > versions.size()) {
                return error(404, 40402, "Version " + m.group(2) + " not found.");
            }
            return new Answer(200, subjectVersion(decode(m.group(1)), version, versions.get(version - 1)));
        }
        if ("GET".equals(method) && (m = VERSIONS.matcher(path)).matches()) {
            List<Integer> versions = subjects.get(decode(m.group(1)));
            if (versions == null) {
                return error(404, 40401, "Subject '" + decode(m.group(1)) + "' not found.");
            }
            List<Integer> numbers = new ArrayList<>();
            for (int i = 1; i <= versions.size(); i++) {
                numbers.add(i);
            }
            return new Answer(200, JSON.valueToTree(numbers));
        }
        if ("POST".equals(method) && (m = VERSIONS.matcher(path)).matches()) {
            JsonNode request = parse(body);
            if (request == null || !request.path("schema").isTextual()) {
                return error(422, 42201, "Invalid schema: the body must be {\"schema\": \"...\"}");
            }
            return registerSchema(decode(m.group(1)), request.get("schema").textValue(),
                    request.path("schemaType").asText("AVRO"));
        }
        if ("POST".equals(method) && (m = SUBJECT.matcher(path)).matches()) {
            String subject = decode(m.group(1));
            JsonNode request = parse(body);
            if (request == null || !request.path("schema").isTextual()) {
                return error(422, 42201, "Invalid schema: the body must be {\"schema\": \"...\"}");
            }
            List<Integer> versions = subjects.get(subject);
            if (versions == null) {
                return error(404, 40401, "Subject '" + subject + "' not found.");
            }
            String type = request.path("schemaType").asText("AVRO");
            String key;
            try {
                key = key(request.get("schema").textValue(), type);
            } catch (RuntimeException e) {
                return error(422, 42201, "Invalid schema: " + e.getMessage());
            }
            Integer id = idByKey.get(key);
            int index = id == null ? -1 : versions.indexOf(id);
            if (index < 0) {
                return error(404, 40403, "Schema not found");
            }
            return new Answer(200, subjectVersion(subject, index + 1, id));
        }
        return error(404, 404, "HTTP 404 Not Found");
    }

    private Answer registerSchema(String subject, String text, String type) {
        String key;
        Schema parsed = null;
        try {
            if ("AVRO".equals(type)) {
                parsed = new Schema.Parser().parse(text);
            }
            key = key(text, type);
        } catch (RuntimeException e) {
            return error(422, 42201, "Invalid schema: " + e.getMessage());
        }
        List<Integer> versions = subjects.computeIfAbsent(subject, s -> new ArrayList<>());
        Integer existing = idByKey.get(key);
        if (existing != null && versions.contains(existing)) {
            return new Answer(200, JSON.createObjectNode().put("id", existing));
        }
        if (parsed != null && !versions.isEmpty()) {
            Stored latest = byId.get(versions.get(versions.size() - 1));
            if ("AVRO".equals(latest.type())) {
                Schema previous = new Schema.Parser().parse(latest.text());
                if (SchemaCompatibility.checkReaderWriterCompatibility(parsed, previous).getType()
                        != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
                    return error(409, 409, "Schema being registered is incompatible with an earlier schema for "
                            + "subject \"" + subject + "\" (BACKWARD)");
                }
            }
        }
        int id = existing != null ? existing : nextId++;
        byId.putIfAbsent(id, new Stored(text, type));
        idByKey.putIfAbsent(key, id);
        versions.add(id);
        return new Answer(200, JSON.createObjectNode().put("id", id));
    }

    private ObjectNode subjectVersion(String subject, int version, int id) {
        Stored stored = byId.get(id);
        ObjectNode out = JSON.createObjectNode().put("subject", subject).put("version", version).put("id", id);
        if (!"AVRO".equals(stored.type())) {
            out.put("schemaType", stored.type());
        }
        return out.put("schema", stored.text());
    }

    /** Avro schemas compare by their parsed form (whitespace and attribute order do not matter). */
    private static String key(String text, String type) {
        return type + "\u0000" + ("AVRO".equals(type) ? new Schema.Parser().parse(text).toString() : text);
    }

    private static String decode(String segment) {
        return URLDecoder.decode(segment, StandardCharsets.UTF_8);
    }

    private static JsonNode parse(byte[] body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            return null;
        }
    }

    private static Answer error(int status, int code, String message) {
        return new Answer(status, JSON.createObjectNode().put("error_code", code).put("message", message));
    }

    private record Stored(String text, String type) {
    }

    private record Answer(int status, JsonNode body) {
    }
}
