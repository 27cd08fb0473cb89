package org.distillery.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Random;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.schema.SoftTargetCodec;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;

class WindowBatchesTest {
    private static final int V = 6;

    private static float[][] logits(int t, long seed) {
        Random r = new Random(seed);
        float[][] z = new float[t][V];
        for (float[] row : z) {
            for (int c = 0; c < V; c++) {
                row[c] = (float) (2 * r.nextGaussian());
            }
        }
        return z;
    }

    @Test
    void featuresLabelsAndMaskFollowTheDocumentedLayout() {
        List<Windowing.Window> w = new Windowing(4, 1).cut(new int[] {1, 2, 3, 4, 5, 2, 3, 1});
        float[][] teacher = logits(4, 1);
        WindowBatches.Example first = WindowBatches.Example.of(w.get(0)).withTeacher(teacher);
        WindowBatches.Example second = WindowBatches.Example.of(w.get(1));
        DataSet ds = WindowBatches.toDataSet(List.of(first, second), V, 2.0);

        assertThat(ds.getFeatures().shape()).containsExactly(2, 4);
        assertThat(ds.getLabels().shape()).containsExactly(2, 2 * V, 4);
        assertThat(ds.getLabelsMaskArray().shape()).containsExactly(2, 4);
        assertThat(ds.getFeaturesMaskArray()).isNull();
        assertThat(ds.getFeatures().getRow(1).toIntVector()).containsExactly(4, 5, 2, 3);
        assertThat(ds.getLabelsMaskArray().getRow(1).toFloatVector()).containsExactly(0f, 1f, 1f, 1f);
        for (int t = 0; t < 4; t++) { // window 0: soft targets at T = 2 and the one-hot next token
            float[] p = SoftTargets.soften(teacher[t], 2.0);
            for (int c = 0; c < V; c++) {
                assertThat(ds.getLabels().getFloat(0, c, t)).isEqualTo(p[c]);
                assertThat(ds.getLabels().getFloat(0, V + c, t)).isEqualTo(c == w.get(0).targets()[t] ? 1f : 0f);
            }
        }
        assertThat(ds.getLabels().getFloat(1, V + 1, 3)).as("window 1's last target is the boundary").isEqualTo(1f);
        assertThat(ds.getLabels().get(NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.point(0)).sumNumber()
                .doubleValue()).as("a masked position has no labels").isZero();
        assertThat(ds.getLabels().get(NDArrayIndex.point(1), NDArrayIndex.interval(0, V), NDArrayIndex.all())
                .sumNumber().doubleValue()).as("no teacher").isZero();
    }

    @Test
    void topKTargetsAreTheCodecsReconstruction() {
        Windowing.Window w = new Windowing(3, 0).cut(new int[] {1, 2, 3, 4}).get(0);
        float[][] dense = logits(3, 2);
        int k = 2;
        int[][] index = new int[3][];
        float[][] top = new float[3][];
        float[] tail = new float[3];
        float[][] reconstructed = new float[3][];
        for (int t = 0; t < 3; t++) {
            SoftTargetCodec.TopK kept = SoftTargetCodec.topK(dense[t], k);
            index[t] = kept.index();
            top[t] = kept.logit();
            tail[t] = kept.tailLse();
            reconstructed[t] = SoftTargetCodec.reconstruct(kept.index(), kept.logit(), kept.tailLse(), V);
        }
        WindowBatches.Example e = WindowBatches.Example.of(w);
        DataSet fromTopK = WindowBatches.toDataSet(List.of(e.withTopK(index, top, tail, V)), V, 1.0);
        DataSet fromDense = WindowBatches.toDataSet(List.of(e.withTeacher(reconstructed)), V, 1.0);
        assertThat(fromTopK.getLabels()).isEqualTo(fromDense.getLabels());
        // At T = 1 the kept tokens keep their probabilities and the tail its total mass.
        for (int t = 0; t < 3; t++) {
            float[] exact = SoftTargets.soften(dense[t], 1.0);
            double tailMass = 1;
            for (int j = 0; j < k; j++) {
                assertThat(fromTopK.getLabels().getDouble(0, index[t][j], t))
                        .isCloseTo(exact[index[t][j]], within(1e-6));
                tailMass -= exact[index[t][j]];
            }
            double stored = 0;
            for (int c = 0; c < V; c++) {
                stored += fromTopK.getLabels().getDouble(0, c, t);
            }
            assertThat(stored).isCloseTo(1.0, within(1e-6));
            assertThat(tailMass).isPositive();
        }
    }

    @Test
    void refusesBadIdsWidthsAndLengthsNamingTheWindow() {
        WindowBatches.Example ok = new WindowBatches.Example(new int[] {1, 2}, new int[] {2, 3}, new float[] {1, 1},
                null);
        assertThatThrownBy(() -> WindowBatches.toDataSet(List.of(ok, new WindowBatches.Example(new int[] {1, 2},
                new int[] {2, 9}, new float[] {1, 1}, null)), V, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("target token 9 outside [0, 6) at window 1 of the batch, position 1");
        assertThatThrownBy(() -> WindowBatches.toDataSet(List.of(ok.withTeacher(new float[][] {new float[V],
                new float[V + 1]})), V, 1))
                .hasMessage("teacher logits of width 7 for a vocabulary of 6 at window 0 of the batch, position 1");
        assertThatThrownBy(() -> WindowBatches.toDataSet(List.of(ok.withTeacher(new float[][] {new float[V],
                {Float.NaN, 0, 0, 0, 0, 0}})), V, 1))
                .hasMessage("teacher logit NaN at window 0 of the batch, position 1");
        assertThatThrownBy(() -> WindowBatches.toDataSet(List.of(ok, new WindowBatches.Example(new int[] {1},
                new int[] {2}, new float[] {1}, null)), V, 1))
                .hasMessage("window 1 of the batch has 1 inputs, 1 targets, 1 mask values and no teacher rows;"
                        + " expected 2");
        assertThatThrownBy(() -> WindowBatches.toDataSet(List.of(), V, 1))
                .hasMessage("a minibatch needs at least one window of at least one token, got 0 windows");
    }
}
