package org.distillery.model.text;

import java.util.List;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.schema.SoftTargetCodec;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Windows (with the teacher's next-token logits, when the objective has a soft term) to DL4J minibatches for an LM
 * built by {@link org.distillery.model.nn.LstmArchitecture} and trained with
 * {@link org.distillery.model.loss.TokenDistillationLoss}:
 * <ul>
 *   <li>features [N, T]: token ids as floats, what DL4J's {@code EmbeddingSequenceLayer} reads;</li>
 *   <li>labels [N, 2V, T]: at each position t the classification layout of
 *   {@link org.distillery.model.loss.TargetLayout} along the second axis, {@code [p (V) | y (V)]}, where p is
 *   softmax(teacher logits / T) (zeros without a teacher) and y the one-hot next token;</li>
 *   <li>labels mask [N, T]: 1 at scored positions, 0 at burn-in and padding (whose labels are all zero); no features
 *   mask, since every input position is real context.</li>
 * </ul>
 */
public final class WindowBatches {
    private WindowBatches() {
    }

    /**
     * One training window: T input ids, T target ids, the loss mask [T], and the teacher's logits per position
     * ({@code teacherLogits[t]}, float[V]); {@code teacherLogits} null means no teacher, and a null row at a position
     * means that position has no soft term (a masked one need not have any).
     */
    public record Example(int[] inputs, int[] targets, float[] mask, float[][] teacherLogits) {
        /** A window without a teacher (hard next-token targets only). */
        public static Example of(Windowing.Window w) {
            return new Example(w.inputs(), w.targets(), w.mask(), null);
        }

        /** This window with the teacher's dense logits, [T][V]. */
        public Example withTeacher(float[][] logits) {
            return new Example(inputs, targets, mask, logits);
        }

        /**
         * This window with the teacher's top-K logits per position ({@code index[t]}, {@code logit[t]}) and the
         * log-sum-exp of the rest ({@code tailLse[t]}), made dense by {@link SoftTargetCodec#reconstruct}: the tail's
         * mass spread evenly over the V - K classes left out. A null {@code index[t]} leaves position t without one.
         */
        public Example withTopK(int[][] index, float[][] logit, float[] tailLse, int vocabulary) {
            float[][] dense = new float[inputs.length][];
            for (int t = 0; t < dense.length; t++) {
                dense[t] = index[t] == null ? null
                        : SoftTargetCodec.reconstruct(index[t], logit[t], tailLse[t], vocabulary);
            }
            return withTeacher(dense);
        }
    }

    /**
     * The minibatch of {@code rows}, teacher logits softened at {@code temperature}.
     *
     * @throws IllegalArgumentException naming the row and position of a window of another length, a token id outside
     *                                  [0, V) or teacher logits of another width or not finite
     */
    public static DataSet toDataSet(List<Example> rows, int vocabulary, double temperature) {
        int n = rows.size();
        int t = rows.isEmpty() ? 0 : rows.get(0).inputs().length;
        if (n == 0 || t == 0) {
            throw new IllegalArgumentException("a minibatch needs at least one window of at least one token, got " + n
                    + " windows");
        }
        float[] x = new float[n * t];
        float[] y = new float[n * 2 * vocabulary * t]; // c order [N, 2V, T]: (i, c, s) at (i * 2V + c) * T + s
        float[] m = new float[n * t];
        for (int i = 0; i < n; i++) {
            Example e = rows.get(i);
            checkShape(e, i, t);
            for (int s = 0; s < t; s++) {
                x[i * t + s] = checkedId(e.inputs()[s], vocabulary, "input", i, s);
                if (e.mask()[s] == 0) {
                    continue;
                }
                m[i * t + s] = e.mask()[s];
                int target = checkedId(e.targets()[s], vocabulary, "target", i, s);
                y[(i * 2 * vocabulary + vocabulary + target) * t + s] = 1f;
                float[] z = e.teacherLogits() == null ? null : e.teacherLogits()[s];
                if (z != null) {
                    float[] p = SoftTargets.soften(checkedLogits(z, vocabulary, i, s), temperature);
                    for (int c = 0; c < vocabulary; c++) {
                        y[(i * 2 * vocabulary + c) * t + s] = p[c];
                    }
                }
            }
        }
        return new DataSet(Nd4j.create(x, new long[] {n, t}, 'c'),
                Nd4j.create(y, new long[] {n, 2L * vocabulary, t}, 'c'), null,
                Nd4j.create(m, new long[] {n, t}, 'c'));
    }

    private static void checkShape(Example e, int row, int t) {
        if (e.inputs().length != t || e.targets().length != t || e.mask().length != t
                || (e.teacherLogits() != null && e.teacherLogits().length != t)) {
            throw new IllegalArgumentException("window " + row + " of the batch has " + e.inputs().length
                    + " inputs, " + e.targets().length + " targets, " + e.mask().length + " mask values and "
                    + (e.teacherLogits() == null ? "no" : e.teacherLogits().length) + " teacher rows; expected " + t);
        }
    }

    private static int checkedId(int id, int vocabulary, String what, int row, int position) {
        if (id < 0 || id >= vocabulary) {
            throw new IllegalArgumentException(what + " token " + id + " outside [0, " + vocabulary + ") at window "
                    + row + " of the batch, position " + position);
        }
        return id;
    }

    private static float[] checkedLogits(float[] z, int vocabulary, int row, int position) {
        if (z.length != vocabulary) {
            throw new IllegalArgumentException("teacher logits of width " + z.length + " for a vocabulary of "
                    + vocabulary + " at window " + row + " of the batch, position " + position);
        }
        for (float v : z) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("teacher logit " + v + " at window " + row
                        + " of the batch, position " + position);
            }
        }
        return z;
    }
}
