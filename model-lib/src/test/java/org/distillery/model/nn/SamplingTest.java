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
}
