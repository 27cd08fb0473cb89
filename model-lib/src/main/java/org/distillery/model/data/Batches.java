package org.distillery.model.data;

import java.util.List;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.loss.TargetLayout;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** Turns rows (features, optional teacher logits, optional hard label) into DL4J minibatches in distillery's layout. */
public final class Batches {
    private Batches() {
    }

    /**
     * One training example. {@code teacherLogits} is null when the objective has no soft term; {@code hardLabel} is -1
     * when the row has no hard label; {@code teacherLayer} (a stored teacher layer's activations, for hint and relation
     * terms) is null when the objective does not use one.
     */
    public record Example(float[] features, float[] teacherLogits, int hardLabel, float[] teacherLayer) {
        public Example(float[] features, float[] teacherLogits, int hardLabel) {
            this(features, teacherLogits, hardLabel, null);
        }
    }

    /**
     * A minibatch: features [N, D] and labels [N, 2C] = [softmax(teacherLogits / T) | one-hot(hardLabel)], followed by
     * the teacher layer's G values when the rows carry one ({@link TargetLayout#width(int, int)}).
     *
     * @throws IllegalArgumentException naming the offending row when a row's width or values are invalid
     */
    public static DataSet toDataSet(List<Example> rows, int classes, double temperature) {
        int n = rows.size();
        int d = rows.get(0).features().length;
        int g = rows.get(0).teacherLayer() == null ? 0 : rows.get(0).teacherLayer().length;
        float[] x = new float[n * d];
        float[] targets = new float[TargetLayout.width(classes, g)];
        float[] y = new float[n * targets.length];
        for (int i = 0; i < n; i++) {
            Example e = rows.get(i);
            if (e.features().length != d) {
                throw new IllegalArgumentException("feature length " + e.features().length + " != " + d);
            }
            System.arraycopy(e.features(), 0, x, i * d, d);
            java.util.Arrays.fill(targets, 0f);
            float[] soft = e.teacherLogits() == null ? null : SoftTargets.soften(e.teacherLogits(), temperature);
            if (e.hardLabel() >= classes) {
                throw new IllegalArgumentException("label " + e.hardLabel() + " out of range [0, " + classes + ")");
            }
            TargetLayout.fill(targets, soft, e.hardLabel(), classes);
            if (g > 0) {
                if (e.teacherLayer() == null || e.teacherLayer().length != g) {
                    throw new IllegalArgumentException("teacher layer width " + (e.teacherLayer() == null ? "null"
                            : e.teacherLayer().length) + " != " + g);
                }
                System.arraycopy(e.teacherLayer(), 0, targets, 2 * classes, g);
            }
            System.arraycopy(targets, 0, y, i * targets.length, targets.length);
        }
        return new DataSet(Nd4j.create(x, new long[] {n, d}, DataType.FLOAT),
                Nd4j.create(y, new long[] {n, targets.length}, DataType.FLOAT));
    }
}
