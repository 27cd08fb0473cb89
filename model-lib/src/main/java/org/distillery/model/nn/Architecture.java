package org.distillery.model.nn;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.distillery.model.loss.DistillationLoss;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;

/**
 * A network shape from a one-line spec:
 * <ul>
 *   <li>{@code mlp:1200,1200}: dense ReLU layers of these widths (Hinton et al.'s MNIST teacher; {@code mlp:64} is the
 *   student);</li>
 *   <li>{@code cnn:20,50:500}: LeNet-style, a 5x5 convolution + 2x2 max-pool per listed channel count, then dense ReLU
 *   layers of the widths after the second colon. Input stays a flat row of a square single-channel image.</li>
 * </ul>
 * Every network ends in an identity output layer, so {@code output()} returns raw logits; the softmax lives in the
 * loss and in evaluation. Dropout applies to the inputs of the dense layers after the first hidden one (and of the
 * output layer).
 *
 * @param conv    convolution channel counts (empty for an MLP)
 * @param hidden  dense hidden layer widths, input to output
 * @param dropout probability of dropping a hidden activation during training (0 disables dropout)
 */
public record Architecture(List<Integer> conv, List<Integer> hidden, double dropout) {
    private static final String FORMS = "'mlp:1200,1200' or 'cnn:20,50:500'";

    public Architecture {
        conv = List.copyOf(conv);
        hidden = List.copyOf(hidden);
        if (hidden.isEmpty()) {
            throw new IllegalArgumentException("an architecture needs at least one dense hidden layer, got none");
        }
        for (int w : concat(conv, hidden)) {
            if (w <= 0) {
                throw new IllegalArgumentException("layer widths must be > 0, got " + concat(conv, hidden));
            }
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
        }
    }

    /** An MLP with these hidden widths. */
    public Architecture(List<Integer> hidden, double dropout) {
        this(List.of(), hidden, dropout);
    }

    /** Parses {@code mlp:W1,W2,...} or {@code cnn:C1,C2,...:W1,...}. */
    public static Architecture parse(String spec, double dropout) {
        if (spec == null) {
            throw new IllegalArgumentException("architecture must look like " + FORMS + ", got 'null'");
        }
        String[] parts = spec.split(":", -1);
        if (parts[0].equals("mlp") && parts.length == 2) {
            return new Architecture(List.of(), widths(parts[1], spec), dropout);
        }
        if (parts[0].equals("cnn") && parts.length == 3) {
            return new Architecture(widths(parts[1], spec), widths(parts[2], spec), dropout);
        }
        throw new IllegalArgumentException("architecture must look like " + FORMS + ", got '" + spec + "'");
    }

    private static List<Integer> widths(String csv, String spec) {
        List<Integer> widths = new ArrayList<>();
        for (String w : csv.split(",")) {
            try {
                widths.add(Integer.parseInt(w.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("architecture must look like " + FORMS + ", got '" + spec + "'");
            }
        }
        return widths;
    }

    private static List<Integer> concat(List<Integer> a, List<Integer> b) {
        List<Integer> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    public String spec() {
        String dense = String.join(",", hidden.stream().map(String::valueOf).toList());
        return conv.isEmpty() ? "mlp:" + dense
                : "cnn:" + String.join(",", conv.stream().map(String::valueOf).toList()) + ":" + dense;
    }

    /** A freshly initialised network (seeded) trained with {@code loss} by Adam at {@code learningRate}. */
    public MultiLayerNetwork build(int inputs, int classes, DistillationLoss loss, double learningRate, long seed) {
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(new Adam(learningRate))
                .weightInit(WeightInit.RELU)
                .list();
        for (int channels : conv) {
            list.layer(new ConvolutionLayer.Builder(5, 5).nOut(channels).activation(Activation.RELU).build());
            list.layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                    .build());
        }
        for (int i = 0; i < hidden.size(); i++) {
            DenseLayer.Builder layer = new DenseLayer.Builder().nOut(hidden.get(i)).activation(Activation.RELU);
            if (i > 0 && dropout > 0) {
                layer.dropOut(1 - dropout); // DL4J takes the retain probability, applied to the layer's input
            }
            list.layer(layer.build());
        }
        OutputLayer.Builder out = new OutputLayer.Builder(loss).nOut(classes).activation(Activation.IDENTITY)
                .weightInit(WeightInit.XAVIER);
        if (dropout > 0) {
            out.dropOut(1 - dropout);
        }
        list.layer(out.build());
        MultiLayerConfiguration conf = list.setInputType(inputType(inputs)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    private InputType inputType(int inputs) {
        if (conv.isEmpty()) {
            return InputType.feedForward(inputs);
        }
        int side = (int) Math.round(Math.sqrt(inputs));
        if (side * side != inputs) {
            throw new IllegalArgumentException("a cnn needs square single-channel images, got " + inputs + " features");
        }
        return InputType.convolutionalFlat(side, side, 1);
    }
}
