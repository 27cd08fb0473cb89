package org.distillery.model.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A 2-D array's rows as Java floats in one bulk copy. ND4J's {@code toFloatMatrix()} takes a row view and a copy per
 * row, native calls each: 55 ms for a 1024 x 10 batch of logits against 0.05-0.5 ms here, more than the 784-1200-1200-10
 * teacher's own 25 ms for that batch (docs/PERFORMANCE.md, "Label job").
 */
public final class Matrices {
    private Matrices() {
    }

    /** The rows of the 2-D array {@code a} as float32 values (cast when {@code a} is of another type). */
    public static float[][] rows(INDArray a) {
        if (a.rank() != 2) {
            throw new IllegalArgumentException("expected a 2-D array, got shape " + java.util.Arrays.toString(a.shape()));
        }
        INDArray c = a.dataType() == DataType.FLOAT ? a : a.castTo(DataType.FLOAT);
        if (c.ordering() != 'c' || c.isView() || c.data().length() != c.length()) {
            c = c.dup('c');
        }
        int n = (int) c.size(0);
        int m = (int) c.size(1);
        float[] flat = c.data().asFloat();
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) {
            out[i] = java.util.Arrays.copyOfRange(flat, i * m, i * m + m);
        }
        return out;
    }
}
