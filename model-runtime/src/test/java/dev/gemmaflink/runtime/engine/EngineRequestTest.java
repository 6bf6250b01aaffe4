package dev.gemmaflink.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class EngineRequestTest {

    @Test
    void buildsWithDefaultsAndCopiesThePrompt() {
        int[] ids = {2, 5, 6};
        EngineRequest r = EngineRequest.builder().promptIds(ids).tenant("t").priority(3).build();
        ids[1] = 99;
        assertThat(r.promptIds()).hasValueSatisfying(p -> assertThat(p).containsExactly(2, 5, 6));
        assertThat(r.requestId()).isNotEmpty();
        assertThat(r.text()).isEmpty();
        assertThat(r.params().maxNewTokens()).isEqualTo(256);
        assertThat(r.tenant()).isEqualTo("t");
        assertThat(r.priority()).isEqualTo(3);
        assertThat(r.deadline()).isNull();
    }

    @Test
    void refusesMissingConflictingOrInvalidSettings() {
        assertThatThrownBy(() -> EngineRequest.builder().build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("neither");
        assertThatThrownBy(() -> EngineRequest.builder().promptIds(2).text("x").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("both");
        assertThatThrownBy(() -> EngineRequest.builder().promptIds().build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> EngineRequest.builder().promptIds(2).chat(true).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("chat");
        assertThatThrownBy(() -> EngineRequest.builder().promptIds(2).timeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timeout");
        assertThatThrownBy(() -> EngineRequest.builder().promptIds(2).requestId("").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("requestId");
    }
}
