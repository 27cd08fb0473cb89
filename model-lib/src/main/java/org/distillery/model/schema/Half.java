package org.distillery.model.schema;

/**
 * IEEE 754 binary16 ("half") conversion, which Java 17 lacks ({@code Float.floatToFloat16} came in Java 20).
 * float -> half rounds to nearest, ties to even, and keeps the sign of zero; subnormal halves (below 2^-14, steps of
 * 2^-24) are produced and read exactly. Finite values beyond the largest half, 65504, are <em>clamped</em> to +-65504
 * instead of becoming infinite: a stored logit must stay finite so that softmax of the stored values is defined (the
 * error is tiny against the softmax scale: a logit that large already dominates). Non-finite input is refused.
 */
final class Half {
    static final float MAX = 65504f;
    private static final int MAX_BITS = 0x7BFF;

    private Half() {
    }

    /** The half nearest to {@code f} (ties to even), clamped to +-65504. */
    static short fromFloat(float f) {
        if (!Float.isFinite(f)) {
            throw new IllegalArgumentException("cannot store a non-finite value as a half float: " + f);
        }
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7FFFFFFF;
        if (Float.intBitsToFloat(abs) > MAX) {
            return (short) (sign | MAX_BITS);
        }
        if (abs < 0x38800000) { // below 2^-14: a subnormal half m x 2^-24 (m = 1024 is the smallest normal, 0x0400)
            int m = (int) Math.rint(Float.intBitsToFloat(abs) * 0x1p24f); // exact scaling; rint rounds ties to even
            return (short) (sign | m);
        }
        int exponent = (abs >>> 23) - 127 + 15;
        int mantissa = abs & 0x7FFFFF;
        int h = (exponent << 10) | (mantissa >>> 13);
        int rest = mantissa & 0x1FFF;
        if (rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1)) {
            h++; // a carry out of the mantissa moves to the next exponent, which is the right value
        }
        return (short) (sign | h);
    }

    /** The float of half bits {@code h} (exact: every half is a float). */
    static float toFloat(short h) {
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1F;
        int mantissa = h & 0x3FF;
        if (exponent == 0) {
            float v = mantissa * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        }
        return Float.intBitsToFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
    }

    /** {@code v} as halves, 2 bytes each, little-endian. */
    static byte[] pack(float[] v) {
        byte[] b = new byte[2 * v.length];
        for (int i = 0; i < v.length; i++) {
            short h = fromFloat(v[i]);
            b[2 * i] = (byte) h;
            b[2 * i + 1] = (byte) (h >>> 8);
        }
        return b;
    }

    /** The floats of little-endian halves. */
    static float[] unpack(byte[] b) {
        if (b.length % 2 != 0) {
            throw new IllegalStateException("half-float data has an odd length: " + b.length + " bytes");
        }
        float[] v = new float[b.length / 2];
        for (int i = 0; i < v.length; i++) {
            v[i] = toFloat((short) ((b[2 * i] & 0xFF) | (b[2 * i + 1] << 8)));
        }
        return v;
    }
}
