package dev.gemmaflink.jobs.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

class JsonLinesTest {

    @Test
    void escapesQuotesBackslashesAndControlCharacters() {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("text", "say \"hi\"\\\n\t\u0001");
        fields.put("count", 3);
        fields.put("missing", null);

        assertThat(JsonLines.render(fields))
                .isEqualTo("{\"text\":\"say \\\"hi\\\"\\\\\\n\\t\\u0001\",\"count\":3,\"missing\":null}");
    }

    @Test
    void samplesCoverEveryTaskAndSomeBadInput() {
        assertThat(SampleRequests.all()).extracting(SampleRequests.Sample::note)
                .anyMatch(n -> n.contains("SUMMARIZE")).anyMatch(n -> n.contains("TRANSLATE"))
                .anyMatch(n -> n.contains("CAPTION")).anyMatch(n -> n.contains("undecodable"));
        assertThat(SampleRequests.tinyPng()).startsWith(0x89, 'P', 'N', 'G');
    }
}
