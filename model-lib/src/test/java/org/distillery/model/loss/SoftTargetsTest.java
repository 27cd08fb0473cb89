package org.distillery.model.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class SoftTargetsTest {
    @Test
    void softenSumsToOneAndFlattensWithTemperature() {
        float[] z = {4f, 1f, -2f};
        float[] t1 = SoftTargets.soften(z, 1);
        float[] t4 = SoftTargets.soften(z, 4);
        assertThat(t1[0] + t1[1] + t1[2]).isCloseTo(1f, within(1e-6f));
        assertThat(t4[0] + t4[1] + t4[2]).isCloseTo(1f, within(1e-6f));
        assertThat(t4[0]).isLessThan(t1[0]);
        assertThat(t4[2]).isGreaterThan(t1[2]);
        // known value: softmax([4,1,-2]) = e^4 / (e^4 + e^1 + e^-2)
        assertThat((double) t1[0]).isCloseTo(Math.exp(4) / (Math.exp(4) + Math.exp(1) + Math.exp(-2)), within(1e-6));
    }

    @Test
    void softenIsStableForHugeLogits() {
        float[] p = SoftTargets.soften(new float[] {1e30f, 0f}, 1);
        assertThat(p).containsExactly(1f, 0f);
    }

    @Test
    void klIsZeroForEqualDistributionsAndPositiveOtherwise() {
        float[] p = {0.5f, 0.5f, 0f};
        assertThat(SoftTargets.kl(p, p)).isZero();
        assertThat(SoftTargets.kl(p, new float[] {0.9f, 0.05f, 0.05f}))
                .isCloseTo(0.5 * Math.log(0.5 / 0.9) + 0.5 * Math.log(0.5 / 0.05), within(1e-6));
    }
}
