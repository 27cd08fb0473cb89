package org.distillery.jobs.evaluate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.distillery.jobs.common.Scoring;
import org.junit.jupiter.api.Test;

class MetricsTest {
    // three rows, two classes; argmax: 0, 1, 0
    private static final float[][] MODEL = {{2f, 0f}, {0f, 3f}, {1f, 0f}};
    private static final float[][] TEACHER = {{5f, 0f}, {5f, 0f}, {0f, 5f}};
    private static final int[] LABELS = {0, 1, 1};

    @Test
    void accuracyPerClassAccuracyAndAgreement() {
        assertThat(Scoring.accuracy(MODEL, LABELS)).isCloseTo(2.0 / 3, within(1e-12));
        assertThat(Metrics.perClassAccuracy(MODEL, LABELS, 3)).containsExactly(1.0, 0.5, Double.NaN);
        assertThat(Metrics.agreement(MODEL, TEACHER)).isCloseTo(1.0 / 3, within(1e-12));
        assertThat(Metrics.agreement(TEACHER, TEACHER)).isEqualTo(1.0);
    }

    @Test
    void klIsZeroAgainstItselfAndMatchesTheDefinition() {
        assertThat(Metrics.meanKl(TEACHER, TEACHER)).isZero();
        double p0 = 1 / (1 + Math.exp(-5)); // teacher row 0: softmax(5, 0)
        double q0 = 1 / (1 + Math.exp(-2)); // model row 0: softmax(2, 0)
        double kl0 = p0 * Math.log(p0 / q0) + (1 - p0) * Math.log((1 - p0) / (1 - q0));
        assertThat(Metrics.meanKl(new float[][] {MODEL[0]}, new float[][] {TEACHER[0]})).isCloseTo(kl0, within(1e-6));
    }

    @Test
    void eceOfAPerfectlyCalibratedAndAnOverconfidentModel() {
        // two rows at confidence 0.5 (logits equal), one right, one wrong: calibrated, ECE 0
        float[][] half = {{0f, 0f}, {0f, 0f}};
        assertThat(Metrics.ece(half, new int[] {0, 1})).isCloseTo(0.0, within(1e-9));
        // one row at confidence ~1, wrong: ECE ~1
        assertThat(Metrics.ece(new float[][] {{20f, 0f}}, new int[] {1})).isCloseTo(1.0, within(1e-6));
    }

    @Test
    void medianOfOddAndEvenCounts() {
        assertThat(Metrics.median(new long[] {5, 1, 3})).isEqualTo(3.0);
        assertThat(Metrics.median(new long[] {4, 1, 3, 2})).isEqualTo(2.5);
    }
}
