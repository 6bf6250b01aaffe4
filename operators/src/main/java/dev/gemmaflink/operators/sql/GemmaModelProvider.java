package dev.gemmaflink.operators.sql;

import java.time.Duration;
import java.util.Objects;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.functions.AsyncPredictFunction;
import org.apache.flink.table.functions.PredictFunction;
import org.apache.flink.table.ml.AsyncPredictRuntimeProvider;
import org.apache.flink.table.ml.ModelProvider;
import org.apache.flink.table.ml.PredictRuntimeProvider;

/**
 * A gemma model for the planner: asynchronous ({@code ML_PREDICT}'s default when a provider offers both) and
 * synchronous ({@code MAP['async', 'false']}) predict functions over the same shared engine.
 */
final class GemmaModelProvider implements AsyncPredictRuntimeProvider, PredictRuntimeProvider {

    /** The session's timeout of asynchronous ML_PREDICT (Flink's {@code ExecutionConfigOptions}, same default). */
    static final ConfigOption<Duration> SESSION_ASYNC_TIMEOUT = ConfigOptions
            .key("table.exec.async-ml-predict.timeout").durationType().defaultValue(Duration.ofMinutes(3));

    /** The per-call timeout of ML_PREDICT's config map ({@code MAP['timeout', '30 s']}). */
    static final ConfigOption<Duration> CALL_TIMEOUT = ConfigOptions.key("timeout").durationType().noDefaultValue();

    /** Share of Flink's async timeout a row gets in the engine when 'request-timeout' is not set. */
    static final double DERIVED_TIMEOUT_SHARE = 0.9;

    private final GemmaModelSpec spec;
    private final Duration sessionTimeout;

    GemmaModelProvider(GemmaModelSpec spec, Duration sessionTimeout) {
        this.spec = Objects.requireNonNull(spec, "spec");
        this.sessionTimeout = Objects.requireNonNull(sessionTimeout, "sessionTimeout");
    }

    @Override
    public AsyncPredictFunction createAsyncPredictFunction(Context context) {
        return new GemmaAsyncPredictFunction(spec, rowTimeout(context, true));
    }

    @Override
    public PredictFunction createPredictFunction(Context context) {
        return new GemmaPredictFunction(spec, rowTimeout(context, false));
    }

    /**
     * How long a row may take in the engine: 'request-timeout', else 90% of ML_PREDICT's async timeout. Under async
     * ML_PREDICT it must end before Flink's timeout, which fails the job instead of giving the row its error code.
     */
    Duration rowTimeout(Context context, boolean async) {
        Duration flink = context.runtimeConfig().getOptional(CALL_TIMEOUT).orElse(sessionTimeout);
        if (spec.requestTimeout() == null) {
            return Duration.ofNanos((long) (flink.toNanos() * DERIVED_TIMEOUT_SHARE));
        }
        if (async && spec.requestTimeout().compareTo(flink) >= 0) {
            throw new ValidationException("gemma model " + spec.name() + ": 'request-timeout' = "
                    + spec.requestTimeout() + " is not below ML_PREDICT's timeout " + flink + " (the 'timeout' of "
                    + "its config map, else table.exec.async-ml-predict.timeout): a slow row would fail the job "
                    + "instead of ending with TIMEOUT; lower 'request-timeout' or raise the timeout");
        }
        return spec.requestTimeout();
    }

    @Override
    public ModelProvider copy() {
        return new GemmaModelProvider(spec, sessionTimeout);
    }
}
