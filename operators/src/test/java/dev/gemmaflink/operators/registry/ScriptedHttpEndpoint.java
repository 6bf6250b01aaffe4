package dev.gemmaflink.operators.registry;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.Function;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import javax.net.ssl.SSLContext;

/**
 * An HTTP endpoint on the loopback interface that answers each request with what the test's function returns, and
 * records every request (method, path, headers, body): for checking what the registry client sends and how it
 * handles each kind of answer. Not a registry; the end-to-end tests run against one.
 */
final class ScriptedHttpEndpoint implements AutoCloseable {

    /** One request as received. */
    record Received(String method, String path, String authorization, String contentType, String body) {
    }

    /** One answer. */
    record Reply(int status, String body) {
        static Reply json(int status, String body) {
            return new Reply(status, body);
        }
    }

    private final HttpServer server;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private volatile Function<Received, Reply> script;

    private ScriptedHttpEndpoint(HttpServer server, Function<Received, Reply> script) {
        this.server = server;
        this.script = script;
        server.setExecutor(Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "scripted-http");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/", this::handle);
        server.start();
    }

    static ScriptedHttpEndpoint start(Function<Received, Reply> script) throws IOException {
        return new ScriptedHttpEndpoint(HttpServer.create(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0), script);
    }

    static ScriptedHttpEndpoint startTls(SSLContext tls, Function<Received, Reply> script) throws IOException {
        HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        return new ScriptedHttpEndpoint(server, script);
    }

    void script(Function<Received, Reply> next) {
        this.script = next;
    }

    String url() {
        return (server instanceof HttpsServer ? "https" : "http") + "://127.0.0.1:" + server.getAddress().getPort();
    }

    List<Received> received() {
        return List.copyOf(received);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            Received r = new Received(exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(),
                    exchange.getRequestHeaders().getFirst("Authorization"),
                    exchange.getRequestHeaders().getFirst("Content-Type"),
                    new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            received.add(r);
            Reply reply = script.apply(r);
            byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/vnd.schemaregistry.v1+json");
            exchange.sendResponseHeaders(reply.status(), bytes.length == 0 ? -1 : bytes.length);
            if (bytes.length > 0) {
                exchange.getResponseBody().write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
