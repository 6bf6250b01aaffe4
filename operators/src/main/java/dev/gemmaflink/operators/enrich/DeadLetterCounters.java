package dev.gemmaflink.operators.enrich;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * Counters of dead letters by error code: {@code <group>.deadLetters.<CODE>}, created on first use (so a
 * reporter shows only codes that happened), plus {@code deadLetters.total}. Thread-safe: async results complete
 * on enricher threads.
 */
final class DeadLetterCounters {

    private final MetricGroup group;
    private final Counter total;
    private final Map<String, Counter> byCode = new ConcurrentHashMap<>();

    DeadLetterCounters(MetricGroup parent) {
        this.group = parent.addGroup("deadLetters");
        this.total = group.counter("total");
    }

    void increment(String errorCode) {
        total.inc();
        byCode.computeIfAbsent(errorCode, code -> group.counter(code)).inc();
    }
}
