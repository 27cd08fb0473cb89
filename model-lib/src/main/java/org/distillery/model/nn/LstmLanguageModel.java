package org.distillery.model.nn;

import java.util.OptionalInt;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A DL4J LM built by {@link LstmArchitecture} as a {@link TokenLogitFunction}: {@link LanguageModels#logits} on its
 * network, any window length. Not thread-safe (DL4J's forward pass): give each thread its own network clone.
 */
final class LstmLanguageModel implements TokenLogitFunction {
    private final MultiLayerNetwork lm;

    LstmLanguageModel(MultiLayerNetwork lm) {
        this.lm = lm;
    }

    /** The network, for stepping it ({@link LmDecoder}). */
    MultiLayerNetwork network() {
        return lm;
    }

    @Override
    public INDArray logits(int[][] ids) {
        return LanguageModels.logits(lm, ids);
    }

    @Override
    public int vocabulary() {
        return (int) lm.getOutputLayer().getParam("W").size(1);
    }

    @Override
    public OptionalInt context() {
        return OptionalInt.empty();
    }

    @Override
    public boolean threadSafe() {
        return false;
    }

    @Override
    public String describe() {
        return "DL4J LSTM LM, " + lm.getnLayers() + " layers, vocabulary " + vocabulary();
    }
}
