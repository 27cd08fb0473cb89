package org.distillery.model.loss;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The label layout every distillery objective shares: {@code [p (C) | y (C)]}, where p is the teacher's softened
 * distribution (all zeros when there is no teacher) and y the one-hot hard label (all zeros when there is none).
 * Feature and relation terms ({@link CompositeLoss}) append the teacher's stored layer: {@code [p | y | g (G)]}.
 */
public final class TargetLayout {
    private TargetLayout() {
    }

    /** Width of the label row for C classes. */
    public static int width(int classes) {
        return 2 * classes;
    }

    /** Width of the label row for C classes and a stored teacher layer of G values (0: none). */
    public static int width(int classes, int teacherWidth) {
        return 2 * classes + teacherWidth;
    }

    /** Writes one example's targets into {@code row} (length 2C). {@code hardLabel < 0} means "no hard label". */
    public static void fill(float[] row, float[] soft, int hardLabel, int classes) {
        if (soft != null) {
            System.arraycopy(soft, 0, row, 0, classes);
        }
        if (hardLabel >= 0) {
            row[classes + hardLabel] = 1f;
        }
    }

    static int classes(INDArray labels, INDArray preOutput) {
        long c = preOutput.size(1);
        if (labels.size(1) != 2 * c || labels.size(0) != preOutput.size(0)) {
            throw new IllegalArgumentException("distillation labels must be [N, 2C] = [" + preOutput.size(0) + ", "
                    + 2 * c + "] for an output of " + java.util.Arrays.toString(preOutput.shape()) + ", got "
                    + java.util.Arrays.toString(labels.shape()));
        }
        return (int) c;
    }
}
