package dev.gemmaflink.operators;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.flink.api.common.TaskInfoImpl;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.OperatorMetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;

/**
 * What a subtask's {@link RuntimeContext} tells a function in {@code open}: its task info, the TaskManager's
 * {@code gpu} external resources, and a metric group that keeps the gauges registered under one subgroup. Every
 * other method is refused, so a test notices when the function starts using more of the context.
 */
public final class FakeRuntimeContext {

    /** Gauges registered in the group {@code gaugeGroup}, by name. */
    public final Map<String, Gauge<?>> gauges = new ConcurrentHashMap<>();
    private final RuntimeContext context;

    /**
     * @param subtaskIndex this subtask's index
     * @param parallelism the operator's parallelism
     * @param gpus the TaskManager's {@code gpu} infos
     * @param gaugeGroup the subgroup whose gauges {@link #gauges} records (e.g. {@code enrich})
     */
    public FakeRuntimeContext(int subtaskIndex, int parallelism, Collection<? extends ExternalResourceInfo> gpus,
            String gaugeGroup) {
        OperatorMetricGroup unregistered = UnregisteredMetricsGroup.createOperatorMetricGroup();
        MetricGroup recording = new UnregisteredMetricsGroup() {
            @Override
            public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
                gauges.put(name, gauge);
                return gauge;
            }
        };
        OperatorMetricGroup metrics = (OperatorMetricGroup) Proxy.newProxyInstance(
                FakeRuntimeContext.class.getClassLoader(), new Class<?>[] {OperatorMetricGroup.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("addGroup") && args != null && args.length == 1
                            && gaugeGroup.equals(args[0])) {
                        return recording;
                    }
                    return invoke(method, unregistered, args);
                });
        TaskInfoImpl task = new TaskInfoImpl("enrich", 128, subtaskIndex, parallelism, 0);
        Set<ExternalResourceInfo> gpuSet = Set.copyOf(gpus);
        this.context = (RuntimeContext) Proxy.newProxyInstance(FakeRuntimeContext.class.getClassLoader(),
                new Class<?>[] {RuntimeContext.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getTaskInfo" -> task;
                    case "getMetricGroup" -> metrics;
                    case "getExternalResourceInfos" -> "gpu".equals(args[0]) ? gpuSet : Set.of();
                    case "toString" -> "FakeRuntimeContext(subtask " + subtaskIndex + ")";
                    default -> throw new UnsupportedOperationException("RuntimeContext." + method.getName());
                });
    }

    /** The context to hand to {@code setRuntimeContext}. */
    public RuntimeContext context() {
        return context;
    }

    private static Object invoke(Method method, Object target, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
