package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class SamplingTest {
    /** softmax = (0.5, 0.25, 0.125, 0.125) */
    private static final float[] Z = {(float) Math.log(4), (float) Math.log(2), 0, 0};

    private static double[] frequencies(double temperature, double topP) {
        Random r = new Random(1);
        double[] f = new double[Z.length];
        for (int i = 0; i < 40_000; i++) {
            f[Sampling.next(Z, temperature, topP, r)] += 1 / 40_000.0;
        }
        return f;
    }

    @Test
    void drawsFromTheSoftmaxAtTheTemperature() {
        double[] f = frequencies(1, 1);
        assertThat(f[0]).isCloseTo(0.5, within(0.01));
        assertThat(f[1]).isCloseTo(0.25, within(0.01));
        assertThat(f[3]).isCloseTo(0.125, within(0.01));
        // T = 0.5 squares the probabilities: (16, 4, 1, 1) / 22
        assertThat(frequencies(0.5, 1)[0]).isCloseTo(16 / 22.0, within(0.01));
        assertThat(Sampling.next(Z, 0, 1, new Random(2))).isZero();
    }

    @Test
    void topPKeepsTheSmallestNucleusReachingP() {
        double[] f = frequencies(1, 0.7); // 0.5 < 0.7 <= 0.75: tokens 0 and 1, renormalised to 2/3 and 1/3
        assertThat(f[0]).isCloseTo(2 / 3.0, within(0.01));
        assertThat(f[2] + f[3]).isZero();
        assertThat(frequencies(1, 0.1)[0]).isCloseTo(1.0, within(1e-9));
        assertThat(Sampling.next(new float[] {1, 1, 1}, 1, 1e-9, new Random(3))).as("ties: lowest id first").isZero();
    }

    @Test
    void isRepeatableAndRefusesBadSettings() {
        assertThat(frequencies(1, 0.9)).isEqualTo(frequencies(1, 0.9));
        assertThatThrownBy(() -> Sampling.next(Z, -1, 1, new Random())).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("sampling temperature must be a finite number >= 0, got -1.0");
        assertThatThrownBy(() -> Sampling.next(Z, 1, 0, new Random())).hasMessage("top-p must be in (0, 1], got 0.0");
    }

    /**
     * The nucleus computed apart, from its definition: sort softmax(z / T) falling, keep the shortest prefix whose sum
     * reaches p, renormalise (its own normalisation, sort and sums, not the sampler's).
     */
    private static double[] exactNucleus(float[] z, double temperature, double topP) {
        int v = z.length;
        double[] q = new double[v];
        double norm = 0;
        for (int i = 0; i < v; i++) {
            q[i] = Math.exp(z[i] / temperature);
            norm += q[i];
        }
        for (int i = 0; i < v; i++) {
            q[i] /= norm;
        }
        java.util.List<Integer> ids = new java.util.ArrayList<>();
        for (int i = 0; i < v; i++) {
            ids.add(i);
        }
        ids.sort((a, b) -> q[a] != q[b] ? Double.compare(q[b], q[a]) : Integer.compare(a, b));
        double[] out = new double[v];
        double cumulative = 0;
        int k = 0;
        while (k < v && (k == 0 || topP == 1 || cumulative < topP)) {
            cumulative += q[ids.get(k++)];
        }
        for (int j = 0; j < k; j++) {
            out[ids.get(j)] = q[ids.get(j)] / cumulative;
        }
        return out;
    }

    @Test
    void theNucleusIsTheSmallestPrefixOfSortedProbabilitiesReachingP() {
        Random r = new Random(11);
        for (int trial = 0; trial < 200; trial++) {
            float[] z = new float[2 + r.nextInt(30)];
            for (int i = 0; i < z.length; i++) {
                z[i] = (float) (3 * r.nextGaussian());
            }
            double temperature = 0.3 + 2 * r.nextDouble();
            double topP = trial % 5 == 0 ? 1 : 0.05 + 0.9 * r.nextDouble();
            double[] want = exactNucleus(z, temperature, topP);
            double[] got = Sampling.distribution(z, temperature, topP);
            for (int i = 0; i < z.length; i++) {
                assertThat(got[i] > 0).as("token %d kept, trial %d", i, trial).isEqualTo(want[i] > 0);
                assertThat(got[i]).as("token %d, trial %d", i, trial).isCloseTo(want[i], within(1e-12));
            }
        }
        assertThat(Sampling.distribution(Z, 0, 1)).containsExactly(1, 0, 0, 0);
    }

    /**
     * 100k draws from one tempered nucleus: every token's frequency is within 5 standard errors
     * (sqrt(q (1 - q) / n)) of its probability, and tokens outside the nucleus are never drawn.
     */
    @Test
    void drawFrequenciesMatchTheTemperedNucleus() {
        float[] z = {2.0f, 1.5f, 1.2f, 0.3f, -0.5f, -1f, -2f, 0.9f};
        for (double[] setting : new double[][] {{1, 1}, {0.7, 0.9}, {1.8, 0.6}}) {
            double[] q = exactNucleus(z, setting[0], setting[1]);
            int n = 100_000;
            double[] f = new double[z.length];
            Random rng = new Random(5);
            for (int i = 0; i < n; i++) {
                f[Sampling.next(z, setting[0], setting[1], rng)] += 1.0 / n;
            }
            for (int i = 0; i < z.length; i++) {
                double se = Math.sqrt(q[i] * (1 - q[i]) / n);
                assertThat(f[i]).as("token %d at T=%s, p=%s", i, setting[0], setting[1])
                        .isCloseTo(q[i], within(5 * se + 1e-12));
            }
        }
    }
}
