package dev.gemmaflink.operators.architecture;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A small source scan for the architecture tests: the {@code .java} files under a folder, their code without
 * comments, and the qualified names of one package tree that the code names (imports, static imports, wildcard
 * imports and fully-qualified uses), each with its line.
 */
final class JavaSources {

    /** One qualified name found in code. */
    record Reference(Path file, int line, String name, boolean isImport) {

        /**
         * What the name refers to: the top-level class, i.e. the segments up to the first one that starts with an
         * upper-case letter ({@code a.b.Outer.Inner}, {@code a.b.Outer.CONSTANT} and {@code a.b.Outer.*} give
         * {@code a.b.Outer}); or, when no segment does, the package ({@code a.b.*} and {@code a.b} give {@code a.b}).
         */
        String target() {
            String plain = name.endsWith(".*") ? name.substring(0, name.length() - 2) : name;
            StringBuilder out = new StringBuilder();
            for (String part : plain.split("\\.")) {
                if (out.length() > 0) {
                    out.append('.');
                }
                out.append(part);
                if (!part.isEmpty() && Character.isUpperCase(part.charAt(0))) {
                    return out.toString();
                }
            }
            return out.toString();
        }

        /** True when the name refers to a package, not a class (a wildcard import of a package, say). */
        boolean isPackage() {
            String t = target();
            return !Character.isUpperCase(t.charAt(t.lastIndexOf('.') + 1));
        }

        @Override
        public String toString() {
            return file + ":" + line + ": " + (isImport ? "import " : "uses ") + name;
        }
    }

    private JavaSources() {
    }

    /**
     * The folder of this module's base directory (Surefire's {@code basedir} property, else the working directory)
     * resolved with {@code relative}.
     */
    static Path moduleDir(String relative) {
        String basedir = System.getProperty("basedir", System.getProperty("user.dir"));
        return Path.of(basedir).toAbsolutePath().normalize().resolve(relative).normalize();
    }

    /** Every {@code .java} file under {@code root}, sorted. */
    static List<Path> javaFiles(Path root) {
        if (!Files.isDirectory(root)) {
            throw new IllegalStateException("no source folder " + root + " (basedir " + System.getProperty("basedir")
                    + ", working directory " + System.getProperty("user.dir") + ")");
        }
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The names under {@code packagePrefix} (e.g. {@code dev.gemmaflink.runtime}) that the code of {@code file}
     * names: in import declarations (static and wildcard ones included) and anywhere else in code, comments
     * excepted (string literals count: a class named for reflection is a dependency too).
     */
    static List<Reference> references(Path file, String packagePrefix) {
        String code = withoutComments(read(file));
        Pattern imports = Pattern.compile("(?m)^\\s*import\\s+(?:static\\s+)?(" + Pattern.quote(packagePrefix)
                + "(?!\\w)(?:\\s*\\.\\s*(?:\\w+|\\*))*)\\s*;");
        Pattern qualified = Pattern.compile("(?<![\\w.])" + Pattern.quote(packagePrefix)
                + "(?!\\w)(?:\\s*\\.\\s*\\w+)*");
        List<Reference> out = new ArrayList<>();
        List<int[]> importSpans = new ArrayList<>();
        Matcher m = imports.matcher(code);
        while (m.find()) {
            out.add(new Reference(file, lineOf(code, m.start(1)), m.group(1).replaceAll("\\s", ""), true));
            importSpans.add(new int[] {m.start(), m.end()});
        }
        m = qualified.matcher(code);
        while (m.find()) {
            int at = m.start();
            if (importSpans.stream().anyMatch(s -> at >= s[0] && at < s[1])) {
                continue;
            }
            out.add(new Reference(file, lineOf(code, at), m.group().replaceAll("\\s", ""), false));
        }
        return out;
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int lineOf(String text, int offset) {
        int line = 1;
        for (int i = 0; i < offset; i++) {
            if (text.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }

    /**
     * The source with every comment replaced by spaces (line breaks kept, so offsets and lines stay valid); string,
     * text-block and character literals are kept as they are, and comment markers inside them are not comments.
     */
    static String withoutComments(String src) {
        StringBuilder out = new StringBuilder(src.length());
        int i = 0;
        int n = src.length();
        while (i < n) {
            char c = src.charAt(i);
            if (c == '/' && i + 1 < n && src.charAt(i + 1) == '/') {
                while (i < n && src.charAt(i) != '\n') {
                    out.append(' ');
                    i++;
                }
            } else if (c == '/' && i + 1 < n && src.charAt(i + 1) == '*') {
                int end = src.indexOf("*/", i + 2);
                end = end < 0 ? n : end + 2;
                for (; i < end; i++) {
                    out.append(src.charAt(i) == '\n' ? '\n' : ' ');
                }
            } else if (src.startsWith("\"\"\"", i)) {
                int end = src.indexOf("\"\"\"", i + 3);
                while (end > 0 && src.charAt(end - 1) == '\\') {
                    end = src.indexOf("\"\"\"", end + 1);
                }
                end = end < 0 ? n : end + 3;
                out.append(src, i, end);
                i = end;
            } else if (c == '"' || c == '\'') {
                int j = i + 1;
                while (j < n && src.charAt(j) != c && src.charAt(j) != '\n') {
                    j += src.charAt(j) == '\\' ? 2 : 1;
                }
                j = Math.min(n, j + 1);
                out.append(src, i, j);
                i = j;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }
}
