package org.distillery.model.nn;

import java.util.Arrays;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * One stream of generation, as a user of the model would run it: prime with a prompt, then feed one token at a time and
 * read the next-token logits. A DL4J LSTM LM carries its state from step to step ({@link LanguageModels.Stepper}); any
 * other LM (an ONNX causal LM, which has no step state here) recomputes its last {@code context} tokens at every step,
 * which is what generating with it costs. Evaluate's latency and samples and the generate job decode with it; a decoder is
 * one stream, used by one thread.
 */
public abstract class LmDecoder {
    /** Feeds the prompt (at least one token) from a cleared state; the logits of the token after it. */
    public abstract float[] prime(int[] prompt);

    /** Feeds one token; the logits of the next. */
    public abstract float[] step(int token);

    /** The decoder of {@code lm}: stepped when {@code network} (its DL4J network) is given, else recomputed. */
    public static LmDecoder of(TokenLogitFunction lm, MultiLayerNetwork network, int context) {
        return network != null ? new Stepped(network) : new Recomputed(lm, context);
    }

    /**
     * The decoder of {@code lm}: stepped when it is a DL4J LSTM LM ({@link LanguageModels#of}, {@link
     * LanguageModels#teacher}), whose network then carries this stream's state; else recomputed over the last
     * {@code context} tokens (at most the model's fixed context).
     */
    public static LmDecoder of(TokenLogitFunction lm, int context) {
        return of(lm, lm instanceof LstmLanguageModel lstm ? lstm.network() : null, context);
    }

    /**
     * Whether {@link #of(TokenLogitFunction, int)} steps {@code lm} (one LSTM step per token) rather than recomputing
     * its context at every token.
     */
    public static boolean steps(TokenLogitFunction lm) {
        return lm instanceof LstmLanguageModel;
    }

    private static final class Stepped extends LmDecoder {
        private final LanguageModels.Stepper stepper;

        Stepped(MultiLayerNetwork network) {
            stepper = new LanguageModels.Stepper(network, 1);
        }

        @Override
        public float[] prime(int[] prompt) {
            stepper.reset();
            return stepper.prime(new int[][] {prompt})[0];
        }

        @Override
        public float[] step(int token) {
            return stepper.step(token)[0];
        }
    }

    private static final class Recomputed extends LmDecoder {
        private final TokenLogitFunction lm;
        private final int context;
        private int[] tokens = new int[0];

        Recomputed(TokenLogitFunction lm, int context) {
            this.lm = lm;
            this.context = lm.context().isPresent() ? Math.min(context, lm.context().getAsInt()) : context;
        }

        @Override
        public float[] prime(int[] prompt) {
            tokens = prompt.length > context ? Arrays.copyOfRange(prompt, prompt.length - context, prompt.length)
                    : prompt.clone();
            return last();
        }

        @Override
        public float[] step(int token) {
            int keep = Math.min(tokens.length, context - 1);
            int[] next = Arrays.copyOfRange(tokens, tokens.length - keep, tokens.length + 1);
            next[keep] = token;
            tokens = next;
            return last();
        }

        private float[] last() {
            INDArray z = lm.logits(new int[][] {tokens}); // [1, V, T]
            return z.get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.point(tokens.length - 1))
                    .toFloatVector();
        }
    }
}
