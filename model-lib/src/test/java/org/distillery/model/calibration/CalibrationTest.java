package org.distillery.model.calibration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CalibrationTest {
    /** Labels drawn from softmax(z) itself: the logits z are calibrated by construction. */
    private static int[] sample(float[][] z, long seed) {
        Random rng = new Random(seed);
        int[] y = new int[z.length];
        for (int i = 0; i < z.length; i++) {
            double[] a = new double[z[i].length];
            for (int c = 0; c < a.length; c++) {
                a[c] = z[i][c];
            }
            double[] p = Calibration.softmax(a);
            double u = rng.nextDouble();
            int c = 0;
            while (c < p.length - 1 && (u -= p[c]) > 0) {
                c++;
            }
            y[i] = c;
        }
        return y;
    }

    private static float[][] logits(int n, int classes, long seed) {
        Random rng = new Random(seed);
        float[][] z = new float[n][classes];
        for (float[] row : z) {
            for (int c = 0; c < classes; c++) {
                row[c] = (float) (1.5 * rng.nextGaussian());
            }
        }
        return z;
    }

    private static float[][] scale(float[][] z, double s) {
        return Calibration.apply(z, 1 / s, null);
    }

    @Test
    void temperatureScalingUndoesOverconfidence() {
        float[][] z = logits(20_000, 5, 1);
        int[] y = sample(z, 2);
        float[][] overconfident = scale(z, 3); // a model whose logits are 3x too large
        double t = Calibration.fitTemperature(overconfident, y);
        assertThat(t).isCloseTo(3.0, within(0.15));
        assertThat(Reliability.ece(Calibration.apply(overconfident, t, null), y, 15))
                .isLessThan(0.02).isLessThan(Reliability.ece(overconfident, y, 15) / 4);
        // the calibrated logits themselves need no scaling
        assertThat(Calibration.fitTemperature(z, y)).isCloseTo(1.0, within(0.08));
    }

    @Test
    void biasCorrectionRecoversAShiftedClass() {
        float[][] z = logits(20_000, 4, 3);
        int[] y = sample(z, 4);
        float[][] shifted = new float[z.length][];
        for (int i = 0; i < z.length; i++) {
            shifted[i] = z[i].clone();
            shifted[i][2] -= 4; // class 2 under-predicted, as after omitting it from the transfer set
        }
        double[] b = Calibration.fitBias(shifted, y, 4);
        double mean = (0 + 0 + 4 + 0) / 4.0;
        double[] expected = {-mean, -mean, 4 - mean, -mean};
        for (int c = 0; c < 4; c++) {
            assertThat(b[c]).as("class " + c).isCloseTo(expected[c], within(0.1));
        }
        assertThat(Calibration.nll(shifted, y, 1, b)).isLessThan(Calibration.nll(shifted, y, 1, null));
    }

    @Test
    void reliabilityTableCountsEveryPredictionOnce() {
        float[][] z = {{2, 0}, {0, 2}, {0.1f, 0}, {5, -5}};
        int[] y = {0, 0, 1, 0};
        List<Reliability.Bin> t = Reliability.table(z, y, 10);
        assertThat(t).hasSize(10);
        assertThat(t.stream().mapToLong(Reliability.Bin::count).sum()).isEqualTo(4);
        // softmax([0.1, 0]) top = 0.525 -> bin 5, wrong; softmax([2, 0]) top = 0.881 -> bin 8 with [0, 2] (wrong)
        assertThat(t.get(5).count()).isEqualTo(1);
        assertThat(t.get(5).accuracy()).isZero();
        assertThat(t.get(8).count()).isEqualTo(2);
        assertThat(t.get(8).accuracy()).isEqualTo(0.5);
        assertThat(t.get(8).confidence()).isCloseTo(1 / (1 + Math.exp(-2)), within(1e-6));
        double ece = (1 * Math.abs(0.5249791874789399 - 0) + 2 * Math.abs(0.8807970779778823 - 0.5)
                + 1 * Math.abs(1 / (1 + Math.exp(-10)) - 1)) / 4;
        assertThat(Reliability.ece(z, y, 10)).isCloseTo(ece, within(1e-6));
    }
}
