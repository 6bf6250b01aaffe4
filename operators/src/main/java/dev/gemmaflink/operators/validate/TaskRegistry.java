package dev.gemmaflink.operators.validate;

import java.io.Serializable;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The tasks the pipeline accepts.
 *
 * <p>Why a registry and not an Avro enum: the request carries the task as a string, so a producer can send a task
 * that a newer pipeline knows before this one does; an enum would either fail decoding (JSON) or silently map the
 * value to a default symbol and lose it. Here an unknown value is an {@code UNKNOWN_TASK} dead letter that names
 * it, and adding a task is a code change in one place, with no schema version.
 */
public final class TaskRegistry implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final TaskSpec SUMMARIZE = new TaskSpec("SUMMARIZE", true, false, false);
    public static final TaskSpec TRANSLATE = new TaskSpec("TRANSLATE", true, false, true);
    public static final TaskSpec CAPTION = new TaskSpec("CAPTION", false, true, false);
    /** One label of a set (the request's or the configuration's), output constrained to the set. */
    public static final TaskSpec CLASSIFY = new TaskSpec("CLASSIFY", true, false, false);
    /** JSON that validates against a JSON Schema (the request's or a named one), output constrained to it. */
    public static final TaskSpec EXTRACT = new TaskSpec("EXTRACT", true, false, false);

    private final Map<String, TaskSpec> tasks;

    private TaskRegistry(Map<String, TaskSpec> tasks) {
        this.tasks = Map.copyOf(tasks);
    }

    /** SUMMARIZE, TRANSLATE, CAPTION, CLASSIFY and EXTRACT. */
    public static TaskRegistry defaults() {
        return builder().add(SUMMARIZE).add(TRANSLATE).add(CAPTION).add(CLASSIFY).add(EXTRACT).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The task of that exact (case-sensitive) name. */
    public Optional<TaskSpec> find(String name) {
        return name == null ? Optional.empty() : Optional.ofNullable(tasks.get(name));
    }

    public Collection<String> names() {
        return tasks.keySet().stream().sorted().toList();
    }

    /** Builder; refuses two tasks of one name. */
    public static final class Builder {
        private final Map<String, TaskSpec> tasks = new LinkedHashMap<>();

        public Builder add(TaskSpec spec) {
            if (tasks.putIfAbsent(spec.name(), spec) != null) {
                throw new IllegalArgumentException("task " + spec.name() + " is registered twice");
            }
            return this;
        }

        public TaskRegistry build() {
            if (tasks.isEmpty()) {
                throw new IllegalStateException("a task registry needs at least one task");
            }
            return new TaskRegistry(tasks);
        }
    }
}
