package dev.gemmaflink.operators.sql;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.types.logical.ArrayType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeFamily;
import org.apache.flink.table.types.logical.LogicalTypeRoot;

import dev.gemmaflink.operators.sql.GemmaModelOptions.ErrorHandling;
import dev.gemmaflink.operators.sql.GemmaModelOptions.Task;

/**
 * What each column of a gemma model's {@code INPUT} and {@code OUTPUT} schema means, decided and checked once when
 * the statement is planned, so that a wrong schema is a {@link ValidationException} naming the column, not a
 * failure of a running job.
 *
 * <p>INPUT (the {@code DESCRIPTOR} columns of {@code ML_PREDICT}, in order): a column named {@code text},
 * {@code image}, {@code media_type} or {@code target_language} takes that role; any other column takes the role its
 * type suggests when that role is free (a character string: {@code text}; a binary string: {@code image}).
 * {@code text}, {@code media_type} and {@code target_language} are character strings ({@code STRING},
 * {@code VARCHAR(n)}, {@code CHAR(n)}), {@code image} a binary string ({@code BYTES}, {@code VARBINARY(n)}).
 *
 * <p>OUTPUT: {@code finish_reason} (STRING), {@code prompt_tokens}, {@code output_tokens},
 * {@code cached_prompt_tokens} (INT or BIGINT), {@code model_id}, {@code error_code}, {@code error_message}
 * (STRING), {@code labels} (ARRAY&lt;STRING&gt;: classify's chosen labels, in output order) and {@code probability}
 * (DOUBLE: classify's output probability) take those roles, NULL where the task has no such value; exactly one
 * other column, a character string of any name, is the generated text.
 */
final class ModelSchema implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Roles of INPUT columns. */
    enum In {
        TEXT("text", LogicalTypeFamily.CHARACTER_STRING),
        IMAGE("image", LogicalTypeFamily.BINARY_STRING),
        MEDIA_TYPE("media_type", LogicalTypeFamily.CHARACTER_STRING),
        TARGET_LANGUAGE("target_language", LogicalTypeFamily.CHARACTER_STRING);

        final String column;
        final LogicalTypeFamily family;

        In(String column, LogicalTypeFamily family) {
            this.column = column;
            this.family = family;
        }
    }

    /** Roles of OUTPUT columns. */
    enum Out {
        TEXT(null, LogicalTypeFamily.CHARACTER_STRING),
        FINISH_REASON("finish_reason", LogicalTypeFamily.CHARACTER_STRING),
        PROMPT_TOKENS("prompt_tokens", LogicalTypeFamily.INTEGER_NUMERIC),
        OUTPUT_TOKENS("output_tokens", LogicalTypeFamily.INTEGER_NUMERIC),
        CACHED_PROMPT_TOKENS("cached_prompt_tokens", LogicalTypeFamily.INTEGER_NUMERIC),
        MODEL_ID("model_id", LogicalTypeFamily.CHARACTER_STRING),
        ERROR_CODE("error_code", LogicalTypeFamily.CHARACTER_STRING),
        ERROR_MESSAGE("error_message", LogicalTypeFamily.CHARACTER_STRING),
        LABELS("labels", LogicalTypeFamily.COLLECTION),
        PROBABILITY("probability", LogicalTypeFamily.APPROXIMATE_NUMERIC);

        final String column;
        final LogicalTypeFamily family;

        Out(String column, LogicalTypeFamily family) {
            this.column = column;
            this.family = family;
        }
    }

    /** Index of each INPUT role in the input row, -1 when the model has no such column. */
    private final int[] inputIndex;
    /** Role of each OUTPUT column, by position. */
    private final Out[] outputs;
    /** Whether each OUTPUT column is BIGINT (token counts): the row holds a Long there, else an Integer. */
    private final boolean[] bigint;

    private ModelSchema(int[] inputIndex, Out[] outputs, boolean[] bigint) {
        this.inputIndex = inputIndex;
        this.outputs = outputs;
        this.bigint = bigint;
    }

    /**
     * Resolves and checks the schemas of a model.
     *
     * @throws ValidationException naming the column and what was expected
     */
    static ModelSchema resolve(ResolvedSchema input, ResolvedSchema output, Task task, ErrorHandling errors,
            boolean targetLanguageOption) {
        int[] inputIndex = new int[In.values().length];
        Arrays.fill(inputIndex, -1);
        List<Column> inColumns = input.getColumns();
        List<Column> unnamed = new ArrayList<>();
        for (int i = 0; i < inColumns.size(); i++) {
            Column c = inColumns.get(i);
            physical(c, "INPUT");
            In role = byName(In.values(), c.getName());
            if (role == null) {
                unnamed.add(c);
                continue;
            }
            checkType("INPUT", c, role.family, role.column);
            inputIndex[role.ordinal()] = i;
        }
        for (Column c : unnamed) {
            LogicalType type = c.getDataType().getLogicalType();
            In role = type.is(LogicalTypeFamily.CHARACTER_STRING) ? In.TEXT
                    : type.is(LogicalTypeFamily.BINARY_STRING) ? In.IMAGE : null;
            if (role == null || inputIndex[role.ordinal()] >= 0) {
                throw new ValidationException(String.format("INPUT column '%s' %s has no role in a gemma model: "
                        + "name it text (STRING), image (BYTES), media_type (STRING) or target_language (STRING)%s",
                        c.getName(), type.asSummaryString(), role == null ? ""
                                : " (the " + role.column + " role is taken by another column)"));
            }
            inputIndex[role.ordinal()] = inColumns.indexOf(c);
        }
        boolean text = inputIndex[In.TEXT.ordinal()] >= 0;
        boolean image = inputIndex[In.IMAGE.ordinal()] >= 0;
        switch (task) {
            case CAPTION -> {
                if (!image) {
                    throw new ValidationException("a gemma model with 'task' = 'caption' needs an INPUT column "
                            + "image BYTES (the encoded image; text STRING is an optional extra instruction), got "
                            + describe(inColumns));
                }
            }
            case SUMMARIZE, TRANSLATE, GENERATE, CLASSIFY, EXTRACT -> {
                if (!text) {
                    throw new ValidationException("a gemma model with 'task' = '" + task.spelling() + "' needs an "
                            + "INPUT column text STRING, got " + describe(inColumns));
                }
            }
        }
        if (task == Task.TRANSLATE && !targetLanguageOption && inputIndex[In.TARGET_LANGUAGE.ordinal()] < 0) {
            throw new ValidationException("a gemma model with 'task' = 'translate' needs the option '"
                    + GemmaModelOptions.TARGET_LANGUAGE.key() + "' or an INPUT column target_language STRING");
        }
        if (inputIndex[In.MEDIA_TYPE.ordinal()] >= 0 && !image) {
            throw new ValidationException("INPUT column media_type describes an image, but the model has no image "
                    + "BYTES column");
        }

        List<Column> outColumns = output.getColumns();
        Out[] outputs = new Out[outColumns.size()];
        boolean[] bigint = new boolean[outColumns.size()];
        int textColumn = -1;
        for (int i = 0; i < outColumns.size(); i++) {
            Column c = outColumns.get(i);
            physical(c, "OUTPUT");
            Out role = byName(Out.values(), c.getName());
            if (role == null) {
                if (textColumn >= 0) {
                    throw new ValidationException(String.format("OUTPUT columns '%s' and '%s' both look like the "
                            + "generated text: a gemma model has one text column; the others must be named "
                            + "finish_reason, prompt_tokens, output_tokens, cached_prompt_tokens, model_id, "
                            + "error_code, error_message, labels or probability", outColumns.get(textColumn).getName(), c.getName()));
                }
                role = Out.TEXT;
                textColumn = i;
            }
            LogicalType type = c.getDataType().getLogicalType();
            if (role.family == LogicalTypeFamily.INTEGER_NUMERIC) {
                if (!type.is(LogicalTypeRoot.INTEGER) && !type.is(LogicalTypeRoot.BIGINT)) {
                    throw new ValidationException(String.format("OUTPUT column '%s' must be INT or BIGINT, got %s",
                            c.getName(), type.asSummaryString()));
                }
                bigint[i] = type.is(LogicalTypeRoot.BIGINT);
            } else if (role == Out.LABELS) {
                if (!(type instanceof ArrayType array)
                        || !array.getElementType().is(LogicalTypeFamily.CHARACTER_STRING)) {
                    throw new ValidationException(String.format("OUTPUT column '%s' must be ARRAY<STRING>, got %s",
                            c.getName(), type.asSummaryString()));
                }
            } else if (role == Out.PROBABILITY) {
                if (!type.is(LogicalTypeRoot.DOUBLE)) {
                    throw new ValidationException(String.format("OUTPUT column '%s' must be DOUBLE, got %s",
                            c.getName(), type.asSummaryString()));
                }
            } else {
                checkType("OUTPUT", c, role.family, role == Out.TEXT ? "the generated text" : role.column);
            }
            outputs[i] = role;
        }
        if (textColumn < 0) {
            throw new ValidationException("a gemma model needs one OUTPUT column of type STRING for the generated "
                    + "text (any name but the reserved ones), got " + describe(outColumns));
        }
        if (errors == ErrorHandling.OUTPUT && !Arrays.asList(outputs).contains(Out.ERROR_CODE)) {
            throw new ValidationException("under 'error-handling' = 'output' (the default) a row the model cannot "
                    + "serve is emitted with its error code: add an OUTPUT column error_code STRING (and "
                    + "error_message STRING for the reason), or set 'error-handling' = 'fail'");
        }
        return new ModelSchema(inputIndex, outputs, bigint);
    }

    private static <R extends Enum<R>> R byName(R[] roles, String name) {
        String n = name.toLowerCase(Locale.ROOT);
        for (R r : roles) {
            String column = r instanceof In in ? in.column : ((Out) r).column;
            if (n.equals(column)) {
                return r;
            }
        }
        return null;
    }

    private static void physical(Column c, String which) {
        if (!c.isPhysical()) {
            throw new ValidationException(which + " column '" + c.getName() + "' of a gemma model must be a "
                    + "physical column");
        }
    }

    private static void checkType(String which, Column c, LogicalTypeFamily family, String role) {
        LogicalType type = c.getDataType().getLogicalType();
        if (!type.is(family)) {
            String expected = family == LogicalTypeFamily.BINARY_STRING ? "BYTES (VARBINARY)" : "STRING (VARCHAR)";
            throw new ValidationException(String.format("%s column '%s' (%s) must be %s, got %s", which,
                    c.getName(), role, expected, type.asSummaryString()));
        }
    }

    private static String describe(List<Column> columns) {
        return columns.stream().map(c -> c.getName() + " " + c.getDataType().getLogicalType().asSummaryString())
                .toList().toString();
    }

    /** The input row's field of a role, -1 when the model has no such column. */
    int input(In role) {
        return inputIndex[role.ordinal()];
    }

    /** Number of OUTPUT columns. */
    int outputArity() {
        return outputs.length;
    }

    /** The role of OUTPUT column {@code i}. */
    Out output(int i) {
        return outputs[i];
    }

    /** Whether OUTPUT column {@code i} is BIGINT. */
    boolean bigint(int i) {
        return bigint[i];
    }

    /** The roles present, for diagnostics. */
    Map<In, Integer> inputs() {
        Map<In, Integer> out = new EnumMap<>(In.class);
        for (In r : In.values()) {
            if (inputIndex[r.ordinal()] >= 0) {
                out.put(r, inputIndex[r.ordinal()]);
            }
        }
        return out;
    }
}
