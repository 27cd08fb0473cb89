package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Matrices.rows copies the same values as ND4J's toFloatMatrix, whatever the array's order, view or type. */
class MatricesTest {
    private static void same(INDArray a) {
        float[][] expected = a.castTo(DataType.FLOAT).toFloatMatrix();
        assertThat(Matrices.rows(a)).isDeepEqualTo(expected);
    }

    @Test
    void givesToFloatMatrixsRows() {
        Nd4j.getRandom().setSeed(7);
        INDArray c = Nd4j.rand(DataType.FLOAT, 37, 10);
        same(c);
        same(c.dup('f'));
        same(c.get(NDArrayIndex.interval(5, 20), NDArrayIndex.all())); // a row view inside a larger buffer
        same(c.get(NDArrayIndex.all(), NDArrayIndex.interval(2, 7))); // a column view
        same(c.transpose());
        same(Nd4j.rand(DataType.DOUBLE, 4, 3));
        assertThat(Matrices.rows(Nd4j.create(DataType.FLOAT, 0, 10))).isEmpty();
        assertThatThrownBy(() -> Matrices.rows(Nd4j.rand(DataType.FLOAT, 2, 3, 4)))
                .hasMessageContaining("expected a 2-D array");
    }
}
