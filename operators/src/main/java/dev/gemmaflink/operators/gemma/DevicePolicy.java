package dev.gemmaflink.operators.gemma;

import java.util.Arrays;
import java.util.Locale;

/** What a subtask does when its slot was given no GPU. */
public enum DevicePolicy {
    /** Fail the subtask at start: a model meant for a GPU would be unusably slow on a CPU. */
    REQUIRE_GPU("require-gpu"),
    /** Run on the CPU (local runs, tests, tiny models). */
    ALLOW_CPU("allow-cpu");

    private final String spelling;

    DevicePolicy(String spelling) {
        this.spelling = spelling;
    }

    /** The configuration spelling ({@code require-gpu}, {@code allow-cpu}). */
    public String spelling() {
        return spelling;
    }

    /**
     * @throws IllegalArgumentException naming the accepted spellings
     */
    public static DevicePolicy parse(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (DevicePolicy p : values()) {
            if (p.spelling.equals(v)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown device policy '" + value + "' (option "
                + GemmaOptions.DEVICE_POLICY.key() + "); use one of "
                + Arrays.stream(values()).map(DevicePolicy::spelling).toList());
    }
}
