package org.distillery.model.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import java.util.Random;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.schema.SoftTargetLayout.Precision;
import org.junit.jupiter.api.Test;

class SoftTargetCodecTest {
    private static final int C = 50;

    /** Logits with a realistic spread: a few large, most small, a huge one in some rows. */
    private static float[][] logits(int rows, long seed) {
        Random rng = new Random(seed);
        float[][] z = new float[rows][C];
        for (float[] row : z) {
            for (int c = 0; c < C; c++) {
                row[c] = (float) (3 * rng.nextGaussian());
            }
            row[rng.nextInt(C)] += 8;
        }
        z[0][7] = 1e6f; // beyond half range: clamped to 65504
        return z;
    }

    private static SoftTargetCodec codec(Precision p, int k) {
        return new SoftTargetCodec(new SoftTargetLayout(C, p, k, false));
    }

    private static float[] roundTrip(SoftTargetCodec codec, float[] z) {
        return codec.decode(codec.encode(z, 1.0));
    }

    private static double sum(float[] p, int from, int to, int[] order) {
        double s = 0;
        for (int j = from; j < to; j++) {
            s += p[order[j]];
        }
        return s;
    }

    @Test
    void fp32DenseIsLossless() {
        for (float[] z : logits(20, 1)) {
            assertThat(roundTrip(codec(Precision.FP32, C), z)).containsExactly(z);
        }
    }

    @Test
    void fp16DenseIsWithinHalfAnUlpAndClampsTheOverflow() {
        float[][] rows = logits(200, 2);
        for (float[] z : rows) {
            Object stored = codec(Precision.FP16, C).encode(z, 1.0)[0];
            assertThat((byte[]) stored).hasSize(2 * C);
            float[] back = roundTrip(codec(Precision.FP16, C), z);
            for (int c = 0; c < C; c++) {
                if (Math.abs(z[c]) <= Half.MAX) {
                    double bound = Math.max(Math.abs(z[c]) * 0x1p-11, 0x1p-25);
                    assertThat((double) Math.abs(back[c] - z[c])).isLessThanOrEqualTo(bound);
                }
            }
            assertThat(SoftTargets.kl(SoftTargets.soften(z, 1), SoftTargets.soften(back, 1))).isLessThan(1e-4);
        }
        assertThat(roundTrip(codec(Precision.FP16, C), rows[0])[7]).isEqualTo(65504f);
    }

    @Test
    void topKKeepsTheLargestLogitsLargestFirstWithTiesToTheLowerClass() {
        SoftTargetCodec.TopK top = SoftTargetCodec.topK(new float[] {1f, 5f, -2f, 5f, 3f}, 3);
        assertThat(top.index()).containsExactly(1, 3, 4);
        assertThat(top.logit()).containsExactly(5f, 5f, 3f);
        assertThat((double) top.tailLse()).isCloseTo(Math.log(Math.exp(1) + Math.exp(-2)), within(1e-6));
        assertThat(SoftTargetCodec.topK(new float[] {0f, 2f}, 2).tailLse()).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(SoftTargetCodec.topK(new float[] {-1f, -0.5f, -3f}, 1).index()).containsExactly(1);
    }

    @Test
    void topKReconstructionIsExactAtTemperatureOneForTheKeptClassesAndTheTailMass() {
        int k = 10;
        for (float[] z : logits(100, 3)) {
            if (z[7] > 1000) {
                continue; // the clamped row: one class holds all the mass, nothing to compare
            }
            float[] r = roundTrip(codec(Precision.FP32, k), z);
            float[] p = SoftTargets.soften(z, 1);
            float[] q = SoftTargets.soften(r, 1);
            int[] order = SoftTargetCodec.topK(z, C).index();
            for (int j = 0; j < k; j++) {
                assertThat((double) q[order[j]]).as("kept class %d", order[j]).isCloseTo(p[order[j]], within(1e-6));
            }
            assertThat(sum(q, k, C, order)).as("tail mass").isCloseTo(sum(p, k, C, order), within(1e-6));
            assertThat(SoftTargets.argmax(r)).isEqualTo(SoftTargets.argmax(z));
            for (int j = k; j < C; j++) { // the tail's mean, never above the smallest kept logit
                assertThat(r[order[j]]).isEqualTo(r[order[k]]).isLessThanOrEqualTo(z[order[k - 1]]);
            }
        }
    }

    @Test
    void atHigherTemperaturesTheSpreadTailIsAnApproximationThatNeverLosesMass() {
        for (float[] z : logits(50, 4)) {
            float[] r = roundTrip(codec(Precision.FP32, 5), z);
            int[] order = SoftTargetCodec.topK(z, C).index();
            double exact = sum(SoftTargets.soften(z, 4), 5, C, order);
            double spread = sum(SoftTargets.soften(r, 4), 5, C, order);
            assertThat(spread).isGreaterThanOrEqualTo(exact - 1e-6);
            assertThat(SoftTargets.kl(SoftTargets.soften(z, 4), SoftTargets.soften(r, 4))).isLessThan(0.5);
        }
    }

    @Test
    void topKInFp16StoresHalvesAndAFloatTail() {
        float[] z = logits(2, 5)[1];
        Object[] stored = new SoftTargetCodec(new SoftTargetLayout(C, Precision.FP16, 4, true)).encode(z, 2.0);
        assertThat(stored).hasSize(4);
        assertThat((int[]) stored[0]).hasSize(4);
        assertThat((byte[]) stored[1]).hasSize(8);
        assertThat(stored[2]).isInstanceOf(Float.class);
        assertThat((float[]) stored[3]).containsExactly(SoftTargets.soften(z, 2.0));
        float[] r = new SoftTargetCodec(new SoftTargetLayout(C, Precision.FP16, 4, true))
                .decode(stored[0], stored[1], stored[2]);
        int[] idx = (int[]) stored[0];
        for (int i : idx) {
            assertThat((double) r[i]).isCloseTo(z[i], within(Math.abs(z[i]) * 0x1p-11));
        }
    }

    @Test
    void corruptRowsAreRefused() {
        SoftTargetCodec top = codec(Precision.FP32, 2);
        assertThatThrownBy(() -> top.decode(new int[] {3, 3}, new float[] {1f, 0f}, 0f))
                .hasMessage("top-k index 3 repeated in a stored row");
        assertThatThrownBy(() -> top.decode(new int[] {3, 60}, new float[] {1f, 0f}, 0f))
                .hasMessage("top-k index 60 outside [0, 50) in a stored row");
        assertThatThrownBy(() -> codec(Precision.FP16, C).decode((Object) new byte[4]))
                .hasMessage("stored logits has 2 values, expected 50");
        assertThatThrownBy(() -> codec(Precision.FP32, C).encode(new float[3], 1))
                .hasMessage("got 3 logits for 50 classes");
    }

    @Test
    void layoutDefaultsAndErrorsNameTheValue() {
        assertThat(SoftTargetLayout.of(10, null, null, null)).isEqualTo(SoftTargetLayout.v1(10));
        assertThat(SoftTargetLayout.of(10, null, null, null).version()).isEqualTo(1);
        assertThat(SoftTargetLayout.of(10, "fp32", 10, true).version()).isEqualTo(1);
        assertThat(SoftTargetLayout.of(10, "fp16", null, null))
                .isEqualTo(new SoftTargetLayout(10, Precision.FP16, 10, false));
        assertThat(SoftTargetLayout.of(10, null, 3, null).soft()).isFalse();
        assertThat(SoftTargetLayout.of(10, null, 3, true).soft()).isTrue();
        assertThat(SoftTargetLayout.of(10, null, null, false).version()).isEqualTo(2);
        assertThat(SoftTargetLayout.of(10, "fp16", 3, null).columns())
                .containsExactly("id", "label", "topk_index", "topk_logit", "tail_lse");
        assertThat(SoftTargetLayout.of(10, "fp16", 3, null).describe())
                .isEqualTo("fp16, top 3 of 10 logits + tail_lse, no soft column (schema v2)");
        assertThatThrownBy(() -> SoftTargetLayout.of(4, null, 5, null))
                .hasMessage("top-k must be in [1, 4] (the teacher's class count), got 5");
        assertThatThrownBy(() -> SoftTargetLayout.of(4, null, 0, null))
                .hasMessage("top-k must be in [1, 4] (the teacher's class count), got 0");
        assertThatThrownBy(() -> SoftTargetLayout.of(4, "fp8", null, null))
                .hasMessage("precision must be fp32 or fp16, got 'fp8'");
    }

    private static Manifest label(Map<String, Object> facts) {
        return Manifest.sealed("label", Map.of(), Map.of(), facts, Map.of(), null);
    }

    @Test
    void layoutIsReadFromTheManifestForVersionsOneAndTwoOnly() {
        // a version 1 manifest as earlier builds wrote it: no layout facts
        assertThat(SoftTargetLayout.read(label(Manifest.facts("softTargetSchemaVersion", 1, "classes", 10)), "/s"))
                .isEqualTo(SoftTargetLayout.v1(10));
        SoftTargetLayout v2 = new SoftTargetLayout(10, Precision.FP16, 3, false);
        Map<String, Object> facts = Manifest.facts("classes", 10);
        facts.putAll(v2.facts());
        Manifest written = label(facts);
        assertThat(SoftTargetLayout.read(Manifest.fromJson(written.toJson(), "/s"), "/s")).isEqualTo(v2);
        assertThatThrownBy(() -> SoftTargetLayout.read(label(Manifest.facts("softTargetSchemaVersion", 3,
                "classes", 10)), "/s"))
                .hasMessage("unsupported soft-target schema version 3 in /s (this build reads versions 1 and 2)");
        assertThatThrownBy(() -> SoftTargetLayout.read(label(Manifest.facts("softTargetSchemaVersion", 2,
                "classes", 10)), "/s"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageEndingWith("of /s has no boolean fact 'softStored'");
    }
}
