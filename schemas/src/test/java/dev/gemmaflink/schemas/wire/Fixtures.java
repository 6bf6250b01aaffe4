package dev.gemmaflink.schemas.wire;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Map;

import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.GenerationParameters;
import dev.gemmaflink.schemas.ImageData;

/** Requests with every field set, for round trips. */
final class Fixtures {
    private Fixtures() {
    }

    static EnrichmentRequest fullRequest() {
        return EnrichmentRequest.newBuilder()
                .setRequestId("req-1")
                .setTenant("acme")
                .setKey("session-9")
                .setTask("CAPTION")
                .setText("Describe the picture.")
                .setImage(ImageData.newBuilder().setData(ByteBuffer.wrap(new byte[] {1, 2, 3, (byte) 0xFF}))
                        .setMediaType("image/png").build())
                .setTargetLanguage("pt-BR")
                .setGeneration(GenerationParameters.newBuilder().setMaxNewTokens(64).setTemperature(0.7f)
                        .setTopK(40).setTopP(0.9f).setSeed(42L).build())
                .setEventTime(Instant.ofEpochMilli(1_700_000_000_123L))
                .setAttributes(Map.of("source", "unit-test"))
                .setPriority(3)
                .setDeadline(Instant.ofEpochMilli(1_700_000_060_000L))
                .setPanAndScan(true)
                .build();
    }
}
