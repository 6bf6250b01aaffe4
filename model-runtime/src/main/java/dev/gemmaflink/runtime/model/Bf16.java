package dev.gemmaflink.runtime.model;

/** bfloat16 rounding (round to nearest even), as {@code torch.tensor(x).to(torch.bfloat16)} does. */
final class Bf16 {
    private Bf16() {
    }

    static float round(float x) {
        if (Float.isNaN(x)) {
            return x;
        }
        int bits = Float.floatToRawIntBits(x);
        int lsb = (bits >>> 16) & 1;
        bits += 0x7FFF + lsb;
        return Float.intBitsToFloat(bits & 0xFFFF0000);
    }
}
