package dev.gemmaflink.runtime.weights;

import java.util.Optional;

/** Element types this runtime reads from and writes to safetensors files. */
public enum DType {
    /** IEEE 754 binary32. */
    F32(4),
    /** IEEE 754 binary16. */
    F16(2),
    /** bfloat16: the upper 16 bits of a binary32. Released Gemma 3 weights use it. */
    BF16(2);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** @return bytes per element */
    public int byteSize() {
        return byteSize;
    }

    /** @return the safetensors header spelling ("F32", "F16", "BF16") */
    public String safetensorsName() {
        return name();
    }

    /**
     * @param name a safetensors dtype string
     * @return the type, or empty when this runtime does not support it (I64, F64, F8_E4M3, ...)
     */
    public static Optional<DType> fromSafetensors(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
