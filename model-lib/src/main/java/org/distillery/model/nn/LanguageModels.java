package org.distillery.model.nn;

import java.util.Arrays;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Inference with an LM built by {@link LstmArchitecture}: next-token logits of whole windows, and one step at a time
 * for sampling ({@link Stepper}). Teacher LMs of either kind, DL4J LSTM or ONNX causal LM, behind one
 * {@link TokenLogitFunction}: {@link #of} and {@link #teacher}.
 */
public final class LanguageModels {
    private LanguageModels() {
    }

    /** {@code lm}, built by {@link LstmArchitecture}, as a token logit function (not thread-safe: DL4J's forward pass). */
    public static TokenLogitFunction of(MultiLayerNetwork lm) {
        return new LstmLanguageModel(lm);
    }

    /**
     * A teacher LM read from {@code file}, checked to score {@code vocabulary} tokens: a DL4J zip of an LSTM LM, or a
     * causal LM exported to ONNX ({@link OnnxLanguageModel}: int64 ids [N, T] and an optional attention mask in,
     * logits [N, T, V] out, {@code output} naming the logits when there are several outputs and none is called
     * "logits"; null otherwise).
     *
     * @throws IllegalArgumentException when the model scores another number of tokens (naming both), is not a DL4J zip
     *     or ONNX model, or its inputs or outputs are not those of a causal LM
     * @throws IllegalStateException when the bytes are not a readable model of their format
     */
    public static TokenLogitFunction teacher(ModelFile file, String output, int vocabulary) {
        ModelFormat format = file.format();
        TokenLogitFunction lm = switch (format) {
            case ONNX -> OnnxLanguageModel.load(file, output);
            case DL4J_ZIP -> {
                if (output != null) {
                    throw new IllegalArgumentException("an output name is given for teacher LM " + file.source()
                            + ", but it is a " + format.label() + ", not an ONNX model");
                }
                yield of(Models.fromBytes(file.bytes(), file.source()));
            }
            default -> throw new IllegalArgumentException("teacher LM " + file.source() + " is a " + format.label()
                    + "; a DL4J zip of an LSTM LM or an ONNX causal LM is read");
        };
        if (lm.vocabulary() != vocabulary) {
            lm.close();
            throw new IllegalArgumentException("teacher LM " + file.source() + " scores " + lm.vocabulary()
                    + " tokens, but the vocabulary has " + vocabulary);
        }
        return lm;
    }

    /**
     * A stepper over {@code streams} streams of {@code lm} when it is a DL4J LSTM LM (whose network then carries the
     * streams' state: one stepper at a time per network); null for any other LM, which has no step state.
     */
    public static Stepper stepper(TokenLogitFunction lm, int streams) {
        return lm instanceof LstmLanguageModel lstm ? new Stepper(lstm.network(), streams) : null;
    }

    /**
     * The raw next-token logits, [N, V, T] (float32): {@code [n, v, t]} scores token v as the successor of
     * {@code ids[n][0..t]}. Inference mode (no dropout), from a fresh state: the network's stored step state is neither
     * used nor changed.
     */
    public static INDArray logits(MultiLayerNetwork lm, int[][] ids) {
        return lm.output(ids(ids), false);
    }

    /** Token ids as the LM's input, [N, T] floats. */
    public static INDArray ids(int[][] ids) {
        int n = ids.length;
        int t = n == 0 ? 0 : ids[0].length;
        float[] x = new float[n * t];
        for (int i = 0; i < n; i++) {
            if (ids[i].length != t) {
                throw new IllegalArgumentException("windows must have equal lengths, got " + ids[i].length
                        + " tokens in window " + i + " and " + t + " in window 0");
            }
            for (int s = 0; s < t; s++) {
                x[i * t + s] = ids[i][s];
            }
        }
        return Nd4j.create(x, new long[] {n, t}, 'c');
    }

    /**
     * Generation state over N streams (DL4J's {@code rnnTimeStep}): each {@link #step} feeds one token per stream and
     * returns the logits of the next. The state lives in the network, so a network serves one stepper at a time, and
     * {@link #logits} may be called in between (it leaves the state alone).
     */
    public static final class Stepper {
        private final MultiLayerNetwork lm;
        private final int streams;

        /** A stepper over {@code streams} streams, starting from a cleared state. */
        public Stepper(MultiLayerNetwork lm, int streams) {
            if (streams < 1) {
                throw new IllegalArgumentException("a stepper needs at least one stream, got " + streams);
            }
            this.lm = lm;
            this.streams = streams;
            lm.rnnClearPreviousState();
        }

        /** Feeds {@code ids[i]} to stream i; the next-token logits, [N][V]. */
        public float[][] step(int... ids) {
            if (ids.length != streams) {
                throw new IllegalArgumentException("got " + ids.length + " tokens for " + streams + " streams");
            }
            INDArray x = Nd4j.create(Arrays.stream(ids).mapToDouble(i -> i).toArray(), new long[] {streams, 1},
                    DataType.FLOAT);
            return Matrices.rows(lm.rnnTimeStep(x));
        }

        /** Feeds every stream its prompt (all of one length, at least one token); the logits after the last. */
        public float[][] prime(int[][] prompts) {
            if (prompts.length != streams) {
                throw new IllegalArgumentException("got " + prompts.length + " prompts for " + streams + " streams");
            }
            float[][] last = null;
            for (int s = 0; s < prompts[0].length; s++) {
                int[] column = new int[streams];
                for (int i = 0; i < streams; i++) {
                    if (prompts[i].length != prompts[0].length) {
                        throw new IllegalArgumentException("prompts must have equal lengths, got " + prompts[i].length
                                + " tokens in prompt " + i + " and " + prompts[0].length + " in prompt 0");
                    }
                    column[i] = prompts[i][s];
                }
                last = step(column);
            }
            if (last == null) {
                throw new IllegalArgumentException("prompts must have at least one token (a document's starts with"
                        + " its boundary)");
            }
            return last;
        }

        /** Forgets every stream's state. */
        public void reset() {
            lm.rnnClearPreviousState();
        }
    }
}
