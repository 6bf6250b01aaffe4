package dev.gemmaflink.runtime.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.kvcache.CacheKeys;
import dev.gemmaflink.runtime.kvcache.Sequence;
import java.util.List;
import org.junit.jupiter.api.Test;

class RequestQueueTest {

    private static ScheduledRequest seq(String id, int priority, long deadline) {
        return ScheduledRequest.builder(new Sequence(id, new int[] {1, 2, 3}, CacheKeys.of("m", null)))
                .priority(priority).deadlineNanos(deadline).build();
    }

    private static ScheduledRequest seq(String id, int priority) {
        return seq(id, priority, Long.MAX_VALUE);
    }

    @Test
    void higherPriorityFirstThenFifo() {
        RequestQueue queue = new RequestQueue(10);
        for (ScheduledRequest s : List.of(seq("low-1", 0), seq("high-1", 5), seq("low-2", 0), seq("high-2", 5),
                seq("mid", 2))) {
            assertThat(queue.offer(s)).isTrue();
        }
        StringBuilder order = new StringBuilder();
        while (!queue.isEmpty()) {
            order.append(queue.poll().requestId()).append(' ');
        }
        assertThat(order.toString().trim()).isEqualTo("high-1 high-2 mid low-1 low-2");
        assertThat(queue.poll()).isNull();
    }

    @Test
    void boundAppliesToNewSequencesButNotToRequeuedOnes() {
        RequestQueue queue = new RequestQueue(2);
        ScheduledRequest old = seq("old", 0);
        assertThat(queue.offer(old)).isTrue();
        assertThat(queue.offer(seq("b", 0))).isTrue();
        assertThat(queue.offer(seq("c", 0))).isFalse();
        assertThat(queue.size()).isEqualTo(2);

        ScheduledRequest preempted = queue.poll();
        assertThat(preempted).isSameAs(old);
        assertThat(queue.offer(seq("d", 0))).isTrue();
        queue.requeue(preempted); // over the bound, and ahead of newer arrivals of its priority
        assertThat(queue.size()).isEqualTo(3);
        assertThat(queue.peek()).isSameAs(old);
    }

    @Test
    void expiredSequencesLeaveWithDeadlineExceeded() {
        RequestQueue queue = new RequestQueue(10);
        ScheduledRequest early = seq("early", 0, 100);
        ScheduledRequest late = seq("late", 0, 300);
        ScheduledRequest none = seq("none", 0);
        queue.offer(early);
        queue.offer(late);
        queue.offer(none);
        assertThat(queue.removeExpired(99)).isEmpty();
        assertThat(queue.removeExpired(100)).containsExactly(early);
        assertThat(early.status()).isEqualTo(RequestStatus.DEADLINE_EXCEEDED);
        assertThat(queue.contains("early")).isFalse();
        assertThat(queue.removeExpired(Long.MAX_VALUE - 1)).containsExactly(late);
        assertThat(queue.size()).isEqualTo(1);
    }

    @Test
    void removeByIdAndDuplicates() {
        RequestQueue queue = new RequestQueue(10);
        ScheduledRequest a = seq("a", 0);
        queue.offer(a);
        assertThatThrownBy(() -> queue.offer(seq("a", 0))).hasMessageContaining("request a is already queued");
        assertThat(queue.remove("a")).isSameAs(a);
        assertThat(queue.remove("a")).isNull();
        assertThat(queue.isEmpty()).isTrue();
        assertThatThrownBy(() -> new RequestQueue(0)).hasMessageContaining("capacity must be >= 1");
    }

    @Test
    void preemptionPicksTheLeastImportantNewestSequence() {
        ScheduledRequest oldLow = seq("old-low", 0);
        ScheduledRequest newHigh = seq("new-high", 3);
        ScheduledRequest newLow = seq("new-low", 0);
        assertThat(PreemptionPolicy.selectVictim(List.of(oldLow, newHigh, newLow))).isSameAs(newLow);
        assertThat(PreemptionPolicy.selectVictim(List.of(newHigh, oldLow))).isSameAs(oldLow);
        assertThat(PreemptionPolicy.selectVictim(List.of())).isNull();
    }
}
