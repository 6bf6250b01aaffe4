package dev.gemmaflink.jobs.sql;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;

/**
 * A SQL script as the SQL Client reads one: statements end with {@code ;} at the end of a line, {@code --} lines
 * are comments, and an {@code EXECUTE STATEMENT SET BEGIN ... END;} block is one statement. {@code ${name}}
 * placeholders are filled in first; an unknown one is an error.
 */
public final class SqlScript {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([a-z_]+)}");

    private SqlScript() {
    }

    /** The script's statements, placeholders filled in. */
    public static List<String> statements(String script, Map<String, String> values) {
        Matcher m = PLACEHOLDER.matcher(script);
        StringBuilder filled = new StringBuilder();
        while (m.find()) {
            String value = values.get(m.group(1));
            if (value == null) {
                throw new IllegalArgumentException("the script uses ${" + m.group(1) + "}, which is not one of "
                        + values.keySet());
            }
            m.appendReplacement(filled, Matcher.quoteReplacement(value));
        }
        m.appendTail(filled);
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : filled.toString().split("\n", -1)) {
            String trimmed = line.strip();
            if (trimmed.startsWith("--") || (trimmed.isEmpty() && current.isEmpty())) {
                continue;
            }
            current.append(line).append('\n');
            boolean block = current.toString().strip().toUpperCase(Locale.ROOT).startsWith("EXECUTE STATEMENT SET");
            boolean end = block ? trimmed.equalsIgnoreCase("END;") : trimmed.endsWith(";");
            if (end) {
                String statement = current.toString().strip();
                out.add(statement.substring(0, statement.length() - 1).strip());
                current.setLength(0);
            }
        }
        if (!current.toString().isBlank()) {
            throw new IllegalArgumentException("the script ends inside a statement (no ';'): " + current.toString()
                    .strip());
        }
        return out;
    }

    /**
     * Runs the statements one after the other.
     *
     * @return the result of the last statement (a job's, for an INSERT or statement set)
     */
    public static TableResult run(TableEnvironment env, List<String> statements) {
        TableResult last = null;
        for (String statement : statements) {
            last = env.executeSql(statement);
        }
        return last;
    }
}
