package org.distillery.model.nn;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.distillery.model.loss.DistillationLoss;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;

/**
 * A network shape from a one-line spec, e.g. {@code mlp:1200,1200} (Hinton et al.'s MNIST teacher) or {@code mlp:64}
 * (the student). Every network distillery builds ends in an identity output layer, so {@code output()} returns raw
 * logits; the softmax lives in the loss and in evaluation.
 *
 * @param hidden  hidden layer widths, input to output
 * @param dropout probability of dropping a hidden activation during training (0 disables dropout)
 */
public record Architecture(List<Integer> hidden, double dropout) {

    public Architecture {
        hidden = List.copyOf(hidden);
        if (hidden.isEmpty()) {
            throw new IllegalArgumentException("an architecture needs at least one hidden layer, got none");
        }
        for (int w : hidden) {
            if (w <= 0) {
                throw new IllegalArgumentException("hidden layer widths must be > 0, got " + hidden);
            }
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
        }
    }

    /** Parses {@code mlp:W1,W2,...}. */
    public static Architecture parse(String spec, double dropout) {
        if (spec == null || !spec.startsWith("mlp:")) {
            throw new IllegalArgumentException("architecture must look like 'mlp:1200,1200', got '" + spec + "'");
        }
        List<Integer> widths = new ArrayList<>();
        for (String w : spec.substring(4).split(",")) {
            try {
                widths.add(Integer.parseInt(w.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("architecture must look like 'mlp:1200,1200', got '" + spec + "'");
            }
        }
        return new Architecture(widths, dropout);
    }

    public String spec() {
        StringBuilder sb = new StringBuilder("mlp:");
        for (int i = 0; i < hidden.size(); i++) {
            sb.append(i == 0 ? "" : ",").append(hidden.get(i));
        }
        return sb.toString();
    }

    /** Number of trainable parameters for this shape. */
    public long parameterCount(int inputs, int classes) {
        long n = 0;
        int in = inputs;
        for (int w : hidden) {
            n += (long) in * w + w;
            in = w;
        }
        return n + (long) in * classes + classes;
    }

    /** A freshly initialised network (seeded) trained with {@code loss} by Adam at {@code learningRate}. */
    public MultiLayerNetwork build(int inputs, int classes, DistillationLoss loss, double learningRate, long seed) {
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(new Adam(learningRate))
                .weightInit(WeightInit.RELU)
                .list();
        int in = inputs;
        for (int i = 0; i < hidden.size(); i++) {
            DenseLayer.Builder layer = new DenseLayer.Builder().nIn(in).nOut(hidden.get(i)).activation(Activation.RELU);
            if (i > 0 && dropout > 0) {
                layer.dropOut(1 - dropout); // DL4J takes the retain probability, applied to the layer's input
            }
            list.layer(layer.build());
            in = hidden.get(i);
        }
        OutputLayer.Builder out = new OutputLayer.Builder(loss).nIn(in).nOut(classes).activation(Activation.IDENTITY)
                .weightInit(WeightInit.XAVIER);
        if (dropout > 0) {
            out.dropOut(1 - dropout);
        }
        MultiLayerConfiguration conf = list.layer(out.build()).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }
}
