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

    /** Known values: rows of class 2 sit 1 and 3 below their best other class; a third row is class 0. */
    @Test
    void classBiasIsTheSmallestRaiseThatMaximisesAccuracy() {
        float[][] z = {{0f, 0f, -1f}, {0f, 2f, -1f}, {5f, 0f, 0f}};
        int[] y = {2, 2, 0};
        // b in (1, 3]: row 0 goes to class 2 (right), row 1 not yet; b > 3 would take row 1 too (right as well),
        // and b > 5 would take row 2 (wrong): the best is above 3 and at most 5, and the midpoint is 4
        assertThat(Calibration.fitClassBias(z, y, 2)).isEqualTo(4.0);
        // nothing to gain: the class is already predicted where it is right
        assertThat(Calibration.fitClassBias(new float[][] {{0f, 1f}, {2f, 0f}}, new int[] {1, 0}, 1)).isZero();
        // against brute force on random logits: no grid point does better
        float[][] r = logits(300, 5, 9);
        int[] labels = sample(r, 10);
        for (int i = 0; i < r.length; i++) {
            r[i][3] -= 2f; // class 3 under-predicted, as an omitted class is
        }
        double b = Calibration.fitClassBias(r, labels, 3);
        int at = correct(r, labels, 3, b);
        for (double g = 0; g < 8; g += 0.01) {
            assertThat(correct(r, labels, 3, g)).as("bias %s", g).isLessThanOrEqualTo(at);
        }
        assertThat(b).isGreaterThan(0.5);
    }

    private static int correct(float[][] z, int[] y, int c, double b) {
        float[][] adjusted = new float[z.length][];
        for (int i = 0; i < z.length; i++) {
            adjusted[i] = z[i].clone();
            adjusted[i][c] += (float) b;
        }
        int n = 0;
        for (int i = 0; i < z.length; i++) {
            int arg = 0;
            for (int j = 1; j < adjusted[i].length; j++) {
                arg = adjusted[i][j] > adjusted[i][arg] ? j : arg;
            }
            n += arg == y[i] ? 1 : 0;
        }
        return n;
    }
}
