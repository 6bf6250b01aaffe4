package dev.gemmaflink.runtime.tools.bench;

import java.util.HashMap;
import java.util.Map;

/** The benchmarks' command line: {@code --option value} pairs, and the rounding of the figures they print. */
final class BenchArgs {

    private BenchArgs() {
    }

    /** @throws IllegalArgumentException for anything but {@code --option value} pairs */
    static Map<String, String> parse(String[] argv) {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i < argv.length; i++) {
            if (!argv[i].startsWith("--") || i + 1 >= argv.length) {
                throw new IllegalArgumentException("expected --option value pairs, got '" + argv[i] + "'");
            }
            a.put(argv[i].substring(2), argv[++i]);
        }
        return a;
    }

    /**
     * @param hint appended to the message when the option is missing ("" for none)
     * @throws IllegalArgumentException naming the missing option
     */
    static String require(Map<String, String> a, String key, String hint) {
        String v = a.get(key);
        if (v == null) {
            throw new IllegalArgumentException("--" + key + " is required" + hint);
        }
        return v;
    }

    /** Two decimals, as the JSON lines print them. */
    static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
