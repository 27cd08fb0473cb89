package org.distillery.model.nn;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A frozen model seen as a function from flat feature rows to raw logits (before softmax), whatever it was saved as:
 * a DL4J or Keras network ({@link LogitModel}) or an ONNX graph run by ONNX Runtime. {@link Models#teacher} reads
 * one from a file's bytes.
 */
public interface LogitFunction {
    /**
     * Logits [N, {@link #classes()}] for features [N, {@link #inputs()}], in inference mode (no dropout). softmax(z / T)
     * of the result is the model's distribution at temperature T; rows may differ from the model's own pre-softmax
     * values by a per-row constant when only probabilities are available (see the implementations).
     */
    INDArray logits(INDArray features);

    /** Width of the flat feature rows the model reads. */
    long inputs();

    int classes();

    /**
     * Whether one instance may serve concurrent {@link #logits} calls from several threads; if not, give each thread
     * its own (for a {@link LogitModel}, one over a clone of the network).
     */
    boolean threadSafe();

    /** How {@link #logits} computes, for logs: the inference path and, off the fast path, why. */
    String describe();
}
