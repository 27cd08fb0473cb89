package org.distillery.jobs.evaluate;

import java.util.Arrays;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.nn.LanguageModels;
import org.distillery.model.nn.TokenLogitFunction;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * One stream of generation, as a user of the model would run it: prime with a prompt, then feed one token at a time and
 * read the next-token logits. A DL4J LSTM LM carries its state from step to step ({@link LanguageModels.Stepper}); any
 * other LM (an ONNX causal LM, which has no step state here) recomputes its last {@code context} tokens at every step,
 * which is what generating with it costs.
 */
abstract class LmDecoder {
    /** Feeds the prompt (at least one token) from a cleared state; the logits of the token after it. */
    abstract float[] prime(int[] prompt);

    /** Feeds one token; the logits of the next. */
    abstract float[] step(int token);

    /** The decoder of {@code lm}: stepped when {@code network} (its DL4J network) is given, else recomputed. */
    static LmDecoder of(TokenLogitFunction lm, MultiLayerNetwork network, int context) {
        return network != null ? new Stepped(network) : new Recomputed(lm, context);
    }

    private static final class Stepped extends LmDecoder {
        private final LanguageModels.Stepper stepper;

        Stepped(MultiLayerNetwork network) {
            stepper = new LanguageModels.Stepper(network, 1);
        }

        @Override
        float[] prime(int[] prompt) {
            stepper.reset();
            return stepper.prime(new int[][] {prompt})[0];
        }

        @Override
        float[] step(int token) {
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
        float[] prime(int[] prompt) {
            tokens = prompt.length > context ? Arrays.copyOfRange(prompt, prompt.length - context, prompt.length)
                    : prompt.clone();
            return last();
        }

        @Override
        float[] step(int token) {
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
