package org.distillery.jobs.ingest;

import java.io.Serializable;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;

/**
 * Exact sums of float32 values and of their squares, per feature, so that fitted statistics do not depend on the
 * order rows are added in (partitioning, file layout, executor count): every rerun over the same rows gets the same
 * mean and std bit for bit, and so the same stored features, which is what incremental relabeling compares.
 *
 * <p>A float is m x 2^e with m a 25-bit signed integer; m is added into a 64-bit accumulator for its exponent (room
 * for 2^39 values each), m^2 into a 128-bit one. Merging adds accumulators. The exact totals are then turned into
 * mean = S1 / n and variance = (n S2 - S1^2) / n^2, each rounded once to 34 decimal digits, then to float32.
 */
final class ExactSums implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final int EXPONENTS = 256;
    /** Float exponents count from 2^-149 (the least subnormal): a value's units are 2^(max(e, 1) - 150). */
    private static final int OFFSET = 149;

    private final int features;
    private long rows;
    private final long[] sum;
    private final long[] squareHigh;
    private final long[] squareLow;

    ExactSums(int features) {
        this.features = features;
        this.sum = new long[features * EXPONENTS];
        this.squareHigh = new long[features * EXPONENTS];
        this.squareLow = new long[features * EXPONENTS];
    }

    /** Adds one row (its length already checked to be {@code features}). */
    ExactSums add(float[] x) {
        rows++;
        for (int j = 0; j < features; j++) {
            int bits = Float.floatToRawIntBits(x[j]);
            int exponent = (bits >>> 23) & 0xFF;
            long mantissa = exponent == 0 ? bits & 0x7FFFFF : (bits & 0x7FFFFF) | 0x800000;
            if (mantissa == 0) {
                continue;
            }
            int slot = j * EXPONENTS + exponent;
            sum[slot] += bits < 0 ? -mantissa : mantissa;
            long sq = mantissa * mantissa; // < 2^48
            long low = squareLow[slot] + sq;
            if (Long.compareUnsigned(low, sq) < 0) {
                squareHigh[slot]++;
            }
            squareLow[slot] = low;
        }
        return this;
    }

    /** Adds {@code other}'s counts into this one; the order of merges does not matter. */
    ExactSums merge(ExactSums other) {
        rows += other.rows;
        for (int i = 0; i < sum.length; i++) {
            sum[i] += other.sum[i];
            long low = squareLow[i] + other.squareLow[i];
            squareHigh[i] += other.squareHigh[i] + (Long.compareUnsigned(low, squareLow[i]) < 0 ? 1 : 0);
            squareLow[i] = low;
        }
        return this;
    }

    long rows() {
        return rows;
    }

    /** S1 x 2^149 and S2 x 2^298 of feature {@code j}, exactly. */
    private BigInteger[] totals(int j) {
        BigInteger s1 = BigInteger.ZERO;
        BigInteger s2 = BigInteger.ZERO;
        for (int e = 0; e < EXPONENTS; e++) {
            int slot = j * EXPONENTS + e;
            int shift = Math.max(e, 1) - 1; // units of 2^-149
            if (sum[slot] != 0) {
                s1 = s1.add(BigInteger.valueOf(sum[slot]).shiftLeft(shift));
            }
            if (squareLow[slot] != 0 || squareHigh[slot] != 0) {
                BigInteger sq = BigInteger.valueOf(squareHigh[slot]).shiftLeft(64)
                        .add(new BigInteger(Long.toUnsignedString(squareLow[slot])));
                s2 = s2.add(sq.shiftLeft(2 * shift));
            }
        }
        return new BigInteger[] {s1, s2};
    }

    /** Mean of feature {@code j} over the rows added, rounded to float32. */
    float mean(int j) {
        BigDecimal s1 = new BigDecimal(totals(j)[0]).divide(new BigDecimal(BigInteger.ONE.shiftLeft(OFFSET)));
        return s1.divide(BigDecimal.valueOf(rows), MathContext.DECIMAL128).floatValue();
    }

    /** Population standard deviation of feature {@code j}, rounded to float32; 0 for a constant feature. */
    float std(int j) {
        BigInteger[] t = totals(j);
        BigInteger n = BigInteger.valueOf(rows);
        BigInteger numerator = n.multiply(t[1]).subtract(t[0].multiply(t[0])); // n S2 - S1^2, in units of 2^-298
        if (numerator.signum() <= 0) {
            return 0f;
        }
        BigDecimal variance = new BigDecimal(numerator).divide(new BigDecimal(n.multiply(n)
                .shiftLeft(2 * OFFSET)), MathContext.DECIMAL128);
        return variance.sqrt(MathContext.DECIMAL128).floatValue();
    }
}
