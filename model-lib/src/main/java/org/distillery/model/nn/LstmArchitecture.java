package org.distillery.model.nn;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.distillery.model.loss.TokenDistillationLoss;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * A character-level LSTM language model from a one-line spec, {@code lstm:EMBED:HIDDEN[,HIDDEN...]}, e.g.
 * {@code lstm:32:256,256}: a V x EMBED embedding ({@code EmbeddingSequenceLayer}, no bias), LSTM layers of the
 * HIDDEN widths (tanh, no peepholes) and an {@code RnnOutputLayer} of V identity units, so the network's output is the
 * raw next-token logits, [N, V, T]; the softmax lives in the loss and in evaluation. float32.
 *
 * <p>Input: token ids [N, T] as floats (T free: the embedding infers it, so one network takes training windows and
 * single steps alike, {@link LanguageModels}); labels and mask as {@link org.distillery.model.text.WindowBatches} makes
 * them. Every recurrent layer is declared NCW ([N, channels, T]): left unset, DL4J 1.0.0-M2.1's {@code RnnOutputLayer}
 * outputs NCW but checks labels in backprop as if NWC, and {@code fit} fails with "Sequence lengths do not match".
 *
 * @param embedding the embedding width, &ge; 1
 * @param hidden    the LSTM layer widths, input to output, at least one, each &ge; 1
 */
public record LstmArchitecture(int embedding, List<Integer> hidden) {
    private static final String FORM = "'lstm:EMBED:HIDDEN[,HIDDEN...]', e.g. 'lstm:32:256,256'";

    public LstmArchitecture {
        hidden = List.copyOf(hidden);
        if (embedding < 1 || hidden.isEmpty() || hidden.stream().anyMatch(h -> h < 1)) {
            throw new IllegalArgumentException("an LSTM LM needs an embedding width >= 1 and at least one LSTM layer"
                    + " of width >= 1, got embedding " + embedding + " and layers " + hidden);
        }
    }

    /** Parses {@code lstm:EMBED:H1,H2,...}. */
    public static LstmArchitecture parse(String spec) {
        String[] parts = spec == null ? new String[0] : spec.split(":", -1);
        if (parts.length != 3 || !parts[0].equals("lstm")) {
            throw new IllegalArgumentException("LM architecture must look like " + FORM + ", got '" + spec + "'");
        }
        try {
            List<Integer> widths = new ArrayList<>();
            for (String w : parts[2].split(",", -1)) {
                widths.add(Integer.parseInt(w.trim()));
            }
            return new LstmArchitecture(Integer.parseInt(parts[1].trim()), widths);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("LM architecture must look like " + FORM + ", got '" + spec + "'");
        }
    }

    /** The spec this parses from. */
    public String spec() {
        return "lstm:" + embedding + ":" + String.join(",", hidden.stream().map(String::valueOf).toList());
    }

    /**
     * A freshly initialised LM (seeded) over a vocabulary of {@code vocabulary} ids, trained with {@code loss} by Adam
     * at {@code learningRate}. {@code miniBatch(false)}: the loss already averages over the scored tokens.
     */
    public MultiLayerNetwork build(int vocabulary, TokenDistillationLoss loss, double learningRate, long seed) {
        return build(vocabulary, loss, new FastAdam(learningRate), DataType.FLOAT, seed);
    }

    /** {@link #build} with another updater and data type: gradient checks need no updater and double precision. */
    MultiLayerNetwork build(int vocabulary, TokenDistillationLoss loss, IUpdater updater, DataType type, long seed) {
        if (vocabulary < 2) {
            throw new IllegalArgumentException("an LM needs a vocabulary of at least 2 ids, got " + vocabulary);
        }
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(type)
                .miniBatch(false)
                .updater(updater)
                .weightInit(WeightInit.XAVIER)
                .list()
                .layer(new EmbeddingSequenceLayer.Builder().nIn(vocabulary).nOut(embedding).hasBias(false)
                        .inferInputLength(true).outputDataFormat(RNNFormat.NCW).build());
        int in = embedding;
        for (int h : hidden) {
            list.layer(new LSTM.Builder().nIn(in).nOut(h).activation(Activation.TANH).dataFormat(RNNFormat.NCW)
                    .build());
            in = h;
        }
        list.layer(new RnnOutputLayer.Builder(loss).nIn(in).nOut(vocabulary).activation(Activation.IDENTITY)
                .dataFormat(RNNFormat.NCW).build());
        return init(list.build());
    }

    /** Parameters of the LM over {@code vocabulary} ids (what {@code numParams()} of {@link #build} gives). */
    public long parameters(int vocabulary) {
        long p = (long) vocabulary * embedding;
        int in = embedding;
        for (int h : hidden) {
            p += 4L * h * (in + h + 1);
            in = h;
        }
        return p + (long) in * vocabulary + vocabulary;
    }

    private static MultiLayerNetwork init(MultiLayerConfiguration conf) {
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }
}
