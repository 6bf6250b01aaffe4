package dev.gemmaflink.e2e.support;

import java.lang.reflect.Proxy;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.SinkCommitterMetricGroup;
import org.apache.flink.streaming.runtime.operators.sink.committables.CommittableCollector;

/**
 * Flink's metric name collision warnings: {@code AbstractMetricGroup#addMetric} logs, through the logger of
 * {@link MetricGroup}, "Name collision: Group already contains a Metric with the name 'NAME'. Metric will not be
 * reported.[SCOPE, ...]" when a group is given a second metric of a name, and keeps the first.
 */
public final class MetricNameCollisions {

    /** The logger the warnings are logged through. */
    public static final String LOGGER = MetricGroup.class.getName();

    private MetricNameCollisions() {
    }

    /** The collision warnings for metric {@code name} among {@code messages}. */
    public static List<String> named(String name, List<String> messages) {
        String prefix = "Name collision: Group already contains a Metric with the name '" + name + "'";
        return messages.stream().filter(m -> m.startsWith(prefix)).toList();
    }

    /**
     * Whether the Flink on the class path has FLINK-35321: every {@code CommittableCollector} registers the
     * committer's {@code pendingCommittables} gauge in its constructor, copies included, and
     * {@code CommitterOperator#snapshotState} snapshots a copy, so each committer subtask re-registers the gauge
     * (and gets the collision warning) at every checkpoint, and once more on restore (the deserialized collector).
     * Flink 2.2.1 and 2.3.0 have it; apache/flink#27598 (on master after 2.3.0) registers it in the operator's own
     * collector only.
     */
    public static boolean committerReRegistersPendingCommittables() {
        AtomicInteger registrations = new AtomicInteger();
        SinkCommitterMetricGroup group = (SinkCommitterMetricGroup) Proxy.newProxyInstance(
                MetricNameCollisions.class.getClassLoader(), new Class<?>[] {SinkCommitterMetricGroup.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("setCurrentPendingCommittablesGauge")) {
                        registrations.incrementAndGet();
                        return null;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        CommittableCollector.of(group).copy();
        return registrations.get() > 1;
    }
}
