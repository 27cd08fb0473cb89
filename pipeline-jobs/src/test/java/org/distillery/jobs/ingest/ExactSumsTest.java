package org.distillery.jobs.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ExactSumsTest {
    private static List<float[]> rows(int n, long seed) {
        Random rng = new Random(seed);
        List<float[]> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // values spanning many exponents, subnormals and zeros: where a double sum's order shows
            rows.add(new float[] {(float) (rng.nextGaussian() * 1e6), (float) rng.nextGaussian() * 1e-3f,
                Float.MIN_VALUE * rng.nextInt(5), 0f, (float) Math.scalb(rng.nextDouble(), rng.nextInt(60) - 30)});
        }
        return rows;
    }

    private static ExactSums sums(List<float[]> rows, int parts) {
        List<ExactSums> partial = new ArrayList<>();
        for (int p = 0; p < parts; p++) {
            partial.add(new ExactSums(5));
        }
        for (int i = 0; i < rows.size(); i++) {
            partial.get(i % parts).add(rows.get(i));
        }
        Collections.reverse(partial);
        ExactSums total = partial.get(0);
        for (int p = 1; p < parts; p++) {
            total.merge(partial.get(p));
        }
        return total;
    }

    @Test
    void statisticsDoNotDependOnRowOrderOrPartitioning() {
        List<float[]> rows = rows(5000, 1);
        ExactSums one = sums(rows, 1);
        List<float[]> shuffled = new ArrayList<>(rows);
        Collections.shuffle(shuffled, new Random(9));
        ExactSums seven = sums(shuffled, 7);
        for (int j = 0; j < 5; j++) {
            assertThat(Float.floatToIntBits(seven.mean(j))).as("mean %d", j).isEqualTo(Float.floatToIntBits(one.mean(j)));
            assertThat(Float.floatToIntBits(seven.std(j))).as("std %d", j).isEqualTo(Float.floatToIntBits(one.std(j)));
        }
        // and a plain double sum does depend on the order (what this class exists to avoid)
        double forward = 0;
        double backward = 0;
        for (int i = 0; i < rows.size(); i++) {
            forward += rows.get(i)[4];
            backward += shuffled.get(i)[4];
        }
        assertThat(forward).isNotEqualTo(backward);
    }

    @Test
    void matchesAnExactReference() {
        List<float[]> rows = rows(2000, 2);
        ExactSums s = sums(rows, 3);
        for (int j = 0; j < 5; j++) {
            BigDecimal sum = BigDecimal.ZERO;
            BigDecimal squares = BigDecimal.ZERO;
            for (float[] r : rows) {
                BigDecimal v = new BigDecimal(r[j]);
                sum = sum.add(v);
                squares = squares.add(v.multiply(v));
            }
            BigDecimal n = BigDecimal.valueOf(rows.size());
            BigDecimal mean = sum.divide(n, MathContext.DECIMAL128);
            BigDecimal variance = squares.divide(n, MathContext.DECIMAL128).subtract(mean.multiply(mean));
            assertThat(s.mean(j)).as("mean %d", j).isEqualTo(mean.floatValue());
            float std = variance.signum() <= 0 ? 0f : variance.sqrt(MathContext.DECIMAL128).floatValue();
            assertThat((double) s.std(j)).as("std %d", j).isCloseTo(std, org.assertj.core.data.Offset.offset(
                    Math.abs(std) * 1e-6 + 1e-45));
        }
        assertThat(s.std(3)).isZero(); // a constant column
    }
}
