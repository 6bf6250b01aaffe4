package dev.gemmaflink.operators.sql;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;

import org.apache.flink.table.data.RowData;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.PredictFunction;


/**
 * Synchronous ML_PREDICT of a gemma model ({@code MAP['async', 'false']}): one row at a time per subtask, still on
 * the shared engine, where the rows of the other subtasks on the device (and any DataStream enrichment) batch with
 * it. Prefer the asynchronous function: a subtask keeps one row in flight here.
 */
public final class GemmaPredictFunction extends PredictFunction {
    private static final long serialVersionUID = 1L;

    private final GemmaModelSpec spec;
    private final Duration rowTimeout;
    private transient GemmaRowModel model;

    GemmaPredictFunction(GemmaModelSpec spec, Duration rowTimeout) {
        this.spec = Objects.requireNonNull(spec, "spec");
        this.rowTimeout = Objects.requireNonNull(rowTimeout, "rowTimeout");
    }

    @Override
    public void open(FunctionContext context) throws Exception {
        super.open(context);
        model = GemmaRowModel.open(spec, rowTimeout, context);
    }

    @Override
    public Collection<RowData> predict(RowData input) {
        try {
            // The row's deadline is in the engine request: the engine ends it, so this wait always ends.
            return List.of(model.predict(input).get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while predicting a row", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        }
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
