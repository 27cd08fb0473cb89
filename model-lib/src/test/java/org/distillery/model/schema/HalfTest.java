package org.distillery.model.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

class HalfTest {
    private static int bits(float f) {
        return Half.fromFloat(f) & 0xFFFF;
    }

    @Test
    void knownValues() {
        assertThat(bits(0f)).isEqualTo(0x0000);
        assertThat(bits(-0f)).isEqualTo(0x8000);
        assertThat(Float.floatToRawIntBits(Half.toFloat((short) 0x8000))).isEqualTo(Float.floatToRawIntBits(-0f));
        assertThat(bits(1f)).isEqualTo(0x3C00);
        assertThat(bits(-2f)).isEqualTo(0xC000);
        assertThat(bits(0.5f)).isEqualTo(0x3800);
        assertThat(bits(65504f)).isEqualTo(0x7BFF);
        assertThat(bits(0x1p-14f)).as("smallest normal").isEqualTo(0x0400);
        assertThat(bits(0x1p-24f)).as("smallest subnormal").isEqualTo(0x0001);
        assertThat(bits(0x3FFp-24f)).as("largest subnormal").isEqualTo(0x03FF);
        assertThat(Half.toFloat((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(Half.toFloat((short) 0x03FF)).isEqualTo(0x3FFp-24f);
        assertThat(Half.toFloat((short) 0x7BFF)).isEqualTo(65504f);
        assertThat(Half.toFloat((short) 0x3555)).isEqualTo(0.33325195f); // 1/3 rounds to 0x3555
        assertThat(bits(1f / 3)).isEqualTo(0x3555);
    }

    @Test
    void subnormalsRoundToNearestEvenAndUnderflowToSignedZero() {
        assertThat(bits(0x1p-25f)).as("half of the smallest subnormal: tie to even 0").isEqualTo(0x0000);
        assertThat(bits(Math.nextUp(0x1p-25f))).isEqualTo(0x0001);
        assertThat(bits(0x3p-25f)).as("1.5 steps: tie to even 2").isEqualTo(0x0002);
        assertThat(bits(-0x1p-26f)).isEqualTo(0x8000);
        assertThat(bits(Float.MIN_VALUE)).isEqualTo(0x0000);
        assertThat(bits(0x7FFp-25f)).as("1023.5 steps: rounds up into the smallest normal").isEqualTo(0x0400);
    }

    @Test
    void overflowIsClampedToTheLargestFiniteHalfNotInfinity() {
        assertThat(bits(65519f)).isEqualTo(0x7BFF); // rounds down anyway
        assertThat(bits(65520f)).isEqualTo(0x7BFF); // IEEE would round this tie to infinity
        assertThat(bits(1e9f)).isEqualTo(0x7BFF);
        assertThat(bits(Float.MAX_VALUE)).isEqualTo(0x7BFF);
        assertThat(bits(-1e9f)).isEqualTo(0xFBFF);
        assertThat(Half.toFloat(Half.fromFloat(-1e9f))).isEqualTo(-65504f);
        assertThatThrownBy(() -> Half.fromFloat(Float.NaN))
                .hasMessage("cannot store a non-finite value as a half float: NaN");
        assertThatThrownBy(() -> Half.fromFloat(Float.POSITIVE_INFINITY))
                .hasMessage("cannot store a non-finite value as a half float: Infinity");
    }

    @Test
    void everyFiniteHalfRoundTripsAndEveryMidpointTiesToEven() {
        for (int h = 0; h < 0x7BFF; h++) { // positive finite halves and the next one up; negatives mirror them
            for (int sign : new int[] {0, 0x8000}) {
                float lo = Half.toFloat((short) (sign | h));
                float hi = Half.toFloat((short) (sign | (h + 1)));
                assertThat(bits(lo)).isEqualTo(sign | h);
                float mid = (lo + hi) / 2; // exact: halves have 11 significant bits, floats 24
                int even = (h & 1) == 0 ? h : h + 1;
                assertThat(bits(mid)).as("midpoint above half %04x", h).isEqualTo(sign | even);
                assertThat(bits(sign == 0 ? Math.nextDown(mid) : Math.nextUp(mid))).isEqualTo(sign | h);
                assertThat(bits(sign == 0 ? Math.nextUp(mid) : Math.nextDown(mid))).isEqualTo(sign | (h + 1));
            }
        }
    }

    @Test
    void relativeErrorIsAtMostHalfAnUlpOfAHalf() {
        Random rng = new Random(3);
        for (int i = 0; i < 100_000; i++) {
            double g = rng.nextGaussian() * Math.pow(10, rng.nextInt(9) - 4);
            float f = (float) Math.max(-Half.MAX, Math.min(Half.MAX, g));
            float back = Half.toFloat(Half.fromFloat(f));
            if (Math.abs(f) >= 0x1p-14f) {
                assertThat((double) Math.abs(back - f)).isLessThanOrEqualTo(Math.abs(f) * 0x1p-11);
            } else { // subnormal range: absolute error at most half a step of 2^-24
                assertThat((double) Math.abs(back - f)).isLessThanOrEqualTo(0x1p-25);
            }
        }
    }

    @Test
    void packsLittleEndian() {
        byte[] b = Half.pack(new float[] {1f, -2f, 65504f});
        assertThat(b).containsExactly(0x00, 0x3C, 0x00, (byte) 0xC0, (byte) 0xFF, 0x7B);
        assertThat(Half.unpack(b)).containsExactly(1f, -2f, 65504f);
        assertThatThrownBy(() -> Half.unpack(new byte[3])).hasMessage("half-float data has an odd length: 3 bytes");
    }
}
