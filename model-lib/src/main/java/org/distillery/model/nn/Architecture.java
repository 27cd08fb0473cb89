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
import org.distillery.model.loss.CompositeLoss;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;

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

    /**
     * A freshly initialised network (seeded) trained with {@code loss} by Adam at {@code learningRate}. Its output layer
     * has {@code classes} units, plus a {@link CompositeLoss}'s regressor columns when it has them.
     */
    public MultiLayerNetwork build(int inputs, int classes, ILossFunction loss, double learningRate, long seed) {
        NeuralNetConfiguration.ListBuilder list = layers(hidden.size(), learningRate, seed);
        int width = loss instanceof CompositeLoss composite ? composite.outputWidth(classes) : classes;
        OutputLayer.Builder out = new OutputLayer.Builder(loss).nOut(width).activation(Activation.IDENTITY)
                .weightInit(WeightInit.XAVIER);
        if (dropout > 0) {
            out.dropOut(1 - dropout);
        }
        list.layer(out.build());
        return init(list.setInputType(inputType(inputs)).build());
    }

    /**
     * The first stage of FitNets (Romero et al. 2015): this architecture's layers up to dense hidden layer
     * {@code guided}, then a linear regressor to the hint's {@code hintWidth} values trained by mean squared error.
     * Built with the same seed as {@link #build}, its first {@link #layersThrough} layers have the same shapes, so
     * their fitted parameters can seed the student ({@link #copyLayers}).
     */
    public MultiLayerNetwork buildHintStage(int inputs, int guided, int hintWidth, double learningRate, long seed) {
        NeuralNetConfiguration.ListBuilder list = layers(guided + 1, learningRate, seed);
        list.layer(new OutputLayer.Builder(new LossMSE()).nOut(hintWidth).activation(Activation.IDENTITY)
                .weightInit(WeightInit.XAVIER).build());
        return init(list.setInputType(inputType(inputs)).build());
    }

    /** How many layers of the network come before and include dense hidden layer {@code guided}. */
    public int layersThrough(int guided) {
        return 2 * conv.size() + guided + 1;
    }

    /** Copies the parameters of the first {@code count} layers of {@code from} into {@code to}. */
    public static void copyLayers(MultiLayerNetwork from, MultiLayerNetwork to, int count) {
        for (int i = 0; i < count; i++) {
            if (from.getLayer(i).numParams() > 0) {
                to.getLayer(i).setParams(from.getLayer(i).params().dup());
            }
        }
    }

    /**
     * {@code trained} without its output layer's extra columns: a network whose output layer keeps the first
     * {@code classes} units (the logits head), with every other parameter equal, trained with {@code loss}.
     */
    public MultiLayerNetwork withLogitsOnly(MultiLayerNetwork trained, int inputs, int classes, ILossFunction loss,
                                            double learningRate, long seed) {
        MultiLayerNetwork net = build(inputs, classes, loss, learningRate, seed);
        int last = net.getnLayers() - 1;
        copyLayers(trained, net, last);
        var interval = NDArrayIndex.interval(0, classes);
        net.getLayer(last).setParam("W", trained.getLayer(last).getParam("W")
                .get(NDArrayIndex.all(), interval).dup());
        net.getLayer(last).setParam("b", trained.getLayer(last).getParam("b")
                .get(NDArrayIndex.all(), interval).dup());
        return net;
    }

    /** The convolution blocks and the first {@code denseLayers} dense hidden layers. */
    private NeuralNetConfiguration.ListBuilder layers(int denseLayers, double learningRate, long seed) {
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(new FastAdam(learningRate)) // DL4J's Adam rule, without its slow native op
                .weightInit(WeightInit.RELU)
                .list();
        for (int channels : conv) {
            list.layer(new ConvolutionLayer.Builder(5, 5).nOut(channels).activation(Activation.RELU).build());
            list.layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                    .build());
        }
        for (int i = 0; i < denseLayers; i++) {
            DenseLayer.Builder layer = new DenseLayer.Builder().nOut(hidden.get(i)).activation(Activation.RELU);
            if (i > 0 && dropout > 0) {
                layer.dropOut(1 - dropout); // DL4J takes the retain probability, applied to the layer's input
            }
            list.layer(layer.build());
        }
        return list;
    }

    private static MultiLayerNetwork init(MultiLayerConfiguration conf) {
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
