package org.distillery.jobs.export;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Known values of the int8 arithmetic (ONNX's QuantizeLinear: round half to even, saturate). */
class QuantizationTest {
    @Test
    void weightsAreSymmetricPerOutputChannel() {
        // dense [in 2, out 3], row-major: channel = column
        float[] w = {0.75f, -0.5f, 0f, -2.0f, 0.2f, 0f};
        Quantization.Weights q = Quantization.perChannel(w, 3, true);
        assertThat(q.scales()).containsExactly(2f / 127, 0.5f / 127, 1f);
        assertThat(q.q()).containsExactly((byte) 48, (byte) -127, (byte) 0, (byte) -127, (byte) 51, (byte) 0);
        // convolution [out 2, in 1, 1, 2]: channel = first axis
        Quantization.Weights c = Quantization.perChannel(new float[] {0.3f, -1f, 3f, 1.2f}, 2, false);
        assertThat(c.scales()).containsExactly(1f / 127, 3f / 127);
        assertThat(c.q()).containsExactly((byte) 38, (byte) -127, (byte) 127, (byte) 51);
    }

    @Test
    void pixelsInZeroOneQuantizeExactly() {
        Quantization.Activation a = Quantization.Activation.of(0f, 1f);
        assertThat(a.scale()).isEqualTo(1f / 255);
        assertThat(a.zeroPoint()).isEqualTo((byte) -128);
        for (int k = 0; k <= 255; k++) {
            assertThat(a.roundTrip(k / 255f)).as("pixel %d", k).isCloseTo(k / 255f,
                    org.assertj.core.api.Assertions.within(1e-6f));
        }
        assertThat(a.roundTrip(-1f)).isZero(); // below the range saturates to its floor: ReLU's zero
    }

    @Test
    void rangesAreWidenedToHoldZero() {
        Quantization.Activation positive = Quantization.Activation.of(2f, 4f);
        assertThat(positive.scale()).isEqualTo(4f / 255);
        assertThat(positive.roundTrip(0f)).isZero();
        Quantization.Activation mixed = Quantization.Activation.of(-1f, 3f);
        assertThat(mixed.scale()).isEqualTo(4f / 255);
        assertThat(mixed.zeroPoint()).isEqualTo((byte) -64); // -128 + 1 / (4 / 255) = -64.25
        assertThat(mixed.roundTrip(0f)).isZero();
        assertThat(Quantization.Activation.of(0f, 0f).roundTrip(0f)).isZero();
    }

    @Test
    void biasIsInt32AtInputTimesWeightScale() {
        float[] scales = {0.01f, 0.02f};
        assertThat(Quantization.bias(new float[] {0.5f, -0.5f}, 0.5f, scales)).containsExactly(100, -50);
        assertThat(Quantization.biasScales(0.5f, scales)).containsExactly(0.005f, 0.01f);
    }
}
