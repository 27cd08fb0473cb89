package org.distillery.model.nn;

import java.util.Arrays;
import java.util.Set;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.layers.LayerConstraint;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonIgnore;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Keeps a dense layer's weight matrix block-diagonal: weights from one peer's units to another peer's are zero after
 * every update, so side-by-side students ({@link PeerNetworks}) stay K separate networks inside one. Block k spans rows
 * {@code [rowStarts[k], rowStarts[k + 1])} (the previous layer's units of peer k) and the columns likewise.
 */
public final class BlockDiagonal implements LayerConstraint {
    private static final long serialVersionUID = 1L;
    private final int[] rowStarts;
    private final int[] colStarts;

    /** @param rowStarts, colStarts K + 1 increasing offsets each, from 0 to the matrix's rows and columns */
    @JsonCreator
    public BlockDiagonal(@JsonProperty("rowStarts") int[] rowStarts, @JsonProperty("colStarts") int[] colStarts) {
        if (rowStarts == null || colStarts == null || rowStarts.length != colStarts.length || rowStarts.length < 3) {
            throw new IllegalArgumentException("block offsets must be two lists of K + 1 >= 3 values, got "
                    + Arrays.toString(rowStarts) + " and " + Arrays.toString(colStarts));
        }
        this.rowStarts = rowStarts.clone();
        this.colStarts = colStarts.clone();
    }

    public int[] getRowStarts() {
        return rowStarts.clone();
    }

    public int[] getColStarts() {
        return colStarts.clone();
    }

    @Override
    public void applyConstraint(Layer layer, int iteration, int epoch) {
        zeroOffDiagonal(layer.getParam(DefaultParamInitializer.WEIGHT_KEY));
    }

    /** Zeroes every weight between different peers' units of {@code w} ([rows, columns]) in place. */
    void zeroOffDiagonal(INDArray w) {
        int k = rowStarts.length - 1;
        for (int a = 0; a < k; a++) {
            for (int b = 0; b < k; b++) {
                if (a != b) {
                    w.get(NDArrayIndex.interval(rowStarts[a], rowStarts[a + 1]),
                            NDArrayIndex.interval(colStarts[b], colStarts[b + 1])).assign(0);
                }
            }
        }
    }

    @Override
    public void setParams(Set<String> params) {
        // always the weight matrix: biases have no cross-peer entries
    }

    @Override
    @JsonIgnore
    public Set<String> getParams() {
        return Set.of(DefaultParamInitializer.WEIGHT_KEY);
    }

    @Override
    public LayerConstraint clone() {
        return new BlockDiagonal(rowStarts, colStarts);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlockDiagonal other && Arrays.equals(rowStarts, other.rowStarts)
                && Arrays.equals(colStarts, other.colStarts);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(rowStarts) + Arrays.hashCode(colStarts);
    }

    @Override
    public String toString() {
        return "BlockDiagonal(rows " + Arrays.toString(rowStarts) + ", columns " + Arrays.toString(colStarts) + ")";
    }
}
