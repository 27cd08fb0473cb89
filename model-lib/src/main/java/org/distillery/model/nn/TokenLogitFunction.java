package org.distillery.model.nn;

import java.util.OptionalInt;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A frozen language model seen as a function from windows of token ids to raw next-token logits (before softmax),
 * whatever it was saved as: a DL4J LSTM LM built by {@link LstmArchitecture} or a causal LM exported to ONNX.
 * {@link LanguageModels#teacher} reads one from a model file; {@link LanguageModels#of} wraps a network in memory.
 */
public interface TokenLogitFunction extends AutoCloseable {
    /**
     * Logits [N, {@link #vocabulary()}, T] (float32) for windows {@code ids} [N][T] of equal length:
     * {@code [n, v, t]} scores token v as the successor of {@code ids[n][0..t]}, in inference mode (no dropout).
     *
     * @throws IllegalArgumentException when windows differ in length, or one is longer than {@link #context()}
     */
    INDArray logits(int[][] ids);

    /** V, the number of tokens the model scores (its output width). */
    int vocabulary();

    /** The longest window the model takes, when it declares one (a fixed sequence axis); empty when free. */
    OptionalInt context();

    /** Whether one instance may serve concurrent {@link #logits} calls from several threads. */
    boolean threadSafe();

    /** How {@link #logits} computes, for logs. */
    String describe();

    /**
     * Releases what the model holds outside the Java heap (an ONNX Runtime session; a DL4J LM holds nothing to
     * release). For the owner that drops the model: an instance shared by a cache is never closed.
     */
    @Override
    default void close() {
    }
}
