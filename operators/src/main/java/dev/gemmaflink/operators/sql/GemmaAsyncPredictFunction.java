package dev.gemmaflink.operators.sql;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

import org.apache.flink.table.data.RowData;
import org.apache.flink.table.functions.AsyncPredictFunction;
import org.apache.flink.table.functions.FunctionContext;

/**
 * Asynchronous ML_PREDICT of a gemma model: each row is submitted to the shared engine at once and its output row
 * comes back on the engine's callback thread, so the {@code max-concurrent-operations} rows in flight of every
 * subtask on a device run as one continuous batch. Always exactly one output row per input row. Public because
 * the planner's generated code names it.
 */
public final class GemmaAsyncPredictFunction extends AsyncPredictFunction {
    private static final long serialVersionUID = 1L;

    private final GemmaModelSpec spec;
    private final Duration rowTimeout;
    private transient GemmaRowModel model;

    GemmaAsyncPredictFunction(GemmaModelSpec spec, Duration rowTimeout) {
        this.spec = Objects.requireNonNull(spec, "spec");
        this.rowTimeout = Objects.requireNonNull(rowTimeout, "rowTimeout");
    }

    @Override
    public void open(FunctionContext context) throws Exception {
        super.open(context);
        model = GemmaRowModel.open(spec, rowTimeout, context);
    }

    @Override
    public CompletableFuture<Collection<RowData>> asyncPredict(RowData input) {
        return model.predict(input).thenApply(List::of);
    }

    @Override
    public void close() throws Exception {
        if (model != null) {
            model.close();
            model = null;
        }
        super.close();
    }
}
