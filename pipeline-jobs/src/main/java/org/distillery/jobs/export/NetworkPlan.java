package org.distillery.jobs.export;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A DL4J network as the operations that compute its logits, in an engine-neutral form the ONNX writer emits: reshapes
 * from the input preprocessors, convolutions, poolings and dense layers with their weights copied out (row-major) and
 * their activations. The output layer's activation is left out when it is identity or softmax, so the graph ends in
 * logits as {@link org.distillery.model.nn.LogitModel} does. Dropout is a training-time operation and has no step.
 * Anything else is refused with a one-line IllegalArgumentException naming the layer.
 *
 * @param inputs   width of the flat feature rows the network reads
 * @param classes  logits per row
 * @param steps    in order, from the flat input to the logits
 */
record NetworkPlan(long inputs, int classes, List<Step> steps) {
    static final String MAPPED = "dense, output, convolution (2D), subsampling (max, avg), dropout and activation"
            + " layers";

    /** One operation of the graph; {@code layer} is the DL4J layer it comes from (-1: none). */
    sealed interface Step permits Reshape, Flatten, Conv, Pool, Dense, Act {
        int layer();
    }

    /** The flat rows as [N, C, H, W] (FeedForwardToCnnPreProcessor). */
    record Reshape(int layer, long channels, long height, long width) implements Step {
    }

    /** [N, C, H, W] to [N, C * H * W], channels first (CnnToFeedForwardPreProcessor, NCHW). */
    record Flatten(int layer) implements Step {
    }

    /**
     * A 2D convolution: {@code w} row-major [out, in, kH, kW] (DL4J's and ONNX's layout), bias [out], explicit
     * symmetric padding, then {@code activation}.
     */
    record Conv(int layer, float[] w, long[] shape, float[] b, int[] stride, int[] padding, int[] dilation,
                Activation activation) implements Step {
        int outChannels() {
            return (int) shape[0];
        }
    }

    /** Max or average pooling over [N, C, H, W]. */
    record Pool(int layer, boolean max, int[] kernel, int[] stride, int[] padding, boolean countIncludePad)
            implements Step {
    }

    /** y = x W + b, {@code w} row-major [in, out] (DL4J's layout), then {@code activation}. */
    record Dense(int layer, float[] w, int in, int out, float[] b, Activation activation) implements Step {
    }

    /** An activation layer on its own. */
    record Act(int layer, Activation activation) implements Step {
    }

    /** An element-wise activation as an ONNX operator: null {@code op} for identity; {@code alpha} for LeakyRelu. */
    record Activation(String op, float alpha) {
        static final Activation IDENTITY = new Activation(null, 0);

        boolean identity() {
            return op == null;
        }
    }

    /** Whether the step computes a weighted sum (the steps whose weights int8 quantizes). */
    static boolean weighted(Step s) {
        return s instanceof Conv || s instanceof Dense;
    }

    /**
     * The plan of {@code net}.
     *
     * @throws IllegalArgumentException naming the first layer, preprocessor or setting without an ONNX mapping
     */
    static NetworkPlan of(MultiLayerNetwork net) {
        if (net.params().dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("the network's parameters are " + net.params().dataType()
                    + "; only float32 networks are exported");
        }
        List<Step> steps = new ArrayList<>();
        int last = net.getnLayers() - 1;
        for (int i = 0; i <= last; i++) {
            InputPreProcessor pre = net.getLayerWiseConfigurations().getInputPreProcess(i);
            if (pre != null) {
                steps.add(preprocessor(i, pre));
            }
            steps.add(layer(net, i, i == last));
        }
        if (!(steps.get(steps.size() - 1) instanceof Dense)) {
            throw new IllegalArgumentException("the network's last layer (" + name(net, last) + ") is not a dense"
                    + " output layer; exported graphs end in logits [N, classes]");
        }
        long inputs = steps.get(0) instanceof Reshape r ? r.channels() * r.height() * r.width()
                : firstDense(steps).in();
        return new NetworkPlan(inputs, ((Dense) steps.get(steps.size() - 1)).out(), List.copyOf(steps));
    }

    private static Dense firstDense(List<Step> steps) {
        for (Step s : steps) {
            if (s instanceof Dense d) {
                return d;
            }
            if (!(s instanceof Act)) {
                break;
            }
        }
        throw new IllegalArgumentException("the network starts with a convolution or pooling layer but has no input"
                + " preprocessor saying the image's shape (build it with InputType.convolutionalFlat)");
    }

    private static Step preprocessor(int layer, InputPreProcessor pre) {
        if (pre instanceof FeedForwardToCnnPreProcessor p) {
            return new Reshape(layer, p.getNumChannels(), p.getInputHeight(), p.getInputWidth());
        }
        if (pre instanceof CnnToFeedForwardPreProcessor p
                && p.getFormat() == org.deeplearning4j.nn.conf.CNN2DFormat.NCHW) {
            return new Flatten(layer);
        }
        throw new IllegalArgumentException("layer " + layer + " has an input preprocessor without an ONNX mapping: "
                + pre.getClass().getSimpleName() + " (FeedForwardToCnn and NCHW CnnToFeedForward are exported)");
    }

    private static Step layer(MultiLayerNetwork net, int i, boolean last) {
        var conf = net.getLayer(i).conf().getLayer();
        Class<?> type = conf.getClass();
        if (type == DenseLayer.class || type == OutputLayer.class) {
            INDArray w = net.getLayer(i).getParam("W");
            INDArray b = net.getLayer(i).getParam("b");
            int in = (int) w.size(0);
            int out = (int) w.size(1);
            return new Dense(i, floats(w), in, out, b == null ? new float[out] : floats(b),
                    activation(net, i, ((BaseLayer) conf).getActivationFn(), last));
        }
        if (type == ConvolutionLayer.class) {
            return conv(net, i, (ConvolutionLayer) conf);
        }
        if (type == SubsamplingLayer.class) {
            return pool(net, i, (SubsamplingLayer) conf);
        }
        if (type == DropoutLayer.class) {
            return new Act(i, Activation.IDENTITY);
        }
        if (type == ActivationLayer.class) {
            return new Act(i, activation(net, i, ((ActivationLayer) conf).getActivationFn(), false));
        }
        throw new IllegalArgumentException("layer " + i + " (" + type.getSimpleName() + ") has no ONNX mapping; "
                + MAPPED + " are exported");
    }

    private static Conv conv(MultiLayerNetwork net, int i, ConvolutionLayer c) {
        checkNchw(net, i, c.getCnn2dDataFormat());
        int[] padding = padding(net, i, c.getConvolutionMode(), c.getPadding());
        Activation activation = activation(net, i, c.getActivationFn(), false);
        if ("Softmax".equals(activation.op())) {
            throw new IllegalArgumentException("layer " + i + " (" + name(net, i) + ") ends in softmax over an image;"
                    + " softmax is exported after dense layers only");
        }
        INDArray w = net.getLayer(i).getParam("W");
        INDArray b = net.getLayer(i).getParam("b");
        return new Conv(i, floats(w), w.shape(), b == null ? new float[(int) w.size(0)] : floats(b), c.getStride(),
                padding, c.getDilation(), activation);
    }

    private static Pool pool(MultiLayerNetwork net, int i, SubsamplingLayer s) {
        checkNchw(net, i, s.getCnn2dDataFormat());
        int[] padding = padding(net, i, s.getConvolutionMode(), s.getPadding());
        if (s.getDilation()[0] != 1 || s.getDilation()[1] != 1) {
            throw new IllegalArgumentException("layer " + i + " (" + name(net, i) + ") pools with dilation "
                    + java.util.Arrays.toString(s.getDilation()) + "; only dilation 1 is exported");
        }
        if (s.getPoolingType() != PoolingType.MAX && s.getPoolingType() != PoolingType.AVG) {
            throw new IllegalArgumentException("layer " + i + " (" + name(net, i) + ") pools by " + s.getPoolingType()
                    + ", which has no ONNX mapping here; max and avg pooling are exported");
        }
        return new Pool(i, s.getPoolingType() == PoolingType.MAX, s.getKernelSize(), s.getStride(), padding,
                s.isAvgPoolIncludePadInDivisor());
    }

    /** Truncate and Strict modes pad as configured (the same output for sizes Strict accepts); Same and Causal differ. */
    private static int[] padding(MultiLayerNetwork net, int i, ConvolutionMode mode, int[] padding) {
        if (mode != ConvolutionMode.Truncate && mode != ConvolutionMode.Strict) {
            throw new IllegalArgumentException("layer " + i + " (" + name(net, i) + ") uses convolution mode " + mode
                    + ", which has no ONNX mapping here; Truncate and Strict are exported");
        }
        return padding;
    }

    private static void checkNchw(MultiLayerNetwork net, int i, org.deeplearning4j.nn.conf.CNN2DFormat format) {
        if (format != org.deeplearning4j.nn.conf.CNN2DFormat.NCHW) {
            throw new IllegalArgumentException("layer " + i + " (" + name(net, i) + ") reads " + format
                    + " images; only NCHW (channels first) is exported");
        }
    }

    /**
     * The ONNX operator of an activation. The output layer's softmax is dropped (the graph returns logits, as
     * LogitModel does); elsewhere softmax over the features axis is kept.
     */
    private static Activation activation(MultiLayerNetwork net, int i, IActivation fn, boolean last) {
        if (fn instanceof ActivationIdentity || last && fn instanceof ActivationSoftmax) {
            return Activation.IDENTITY;
        }
        if (fn instanceof ActivationReLU r && plainRelu(r)) {
            return new Activation("Relu", 0);
        }
        if (fn instanceof ActivationLReLU l) {
            return new Activation("LeakyRelu", (float) l.getAlpha());
        }
        if (fn instanceof ActivationTanH) {
            return new Activation("Tanh", 0);
        }
        if (fn instanceof ActivationSigmoid) {
            return new Activation("Sigmoid", 0);
        }
        if (fn instanceof ActivationSoftmax) {
            return new Activation("Softmax", 0);
        }
        throw new IllegalArgumentException("layer " + i + " (" + name(net, i) + ") has activation " + fn
                + " without an ONNX mapping here; identity, relu, leakyrelu, tanh, sigmoid and softmax are exported");
    }

    /** ReLU without DL4J's optional cap, threshold or negative slope. */
    private static boolean plainRelu(ActivationReLU r) {
        return r.getMax() == null && zero(r.getThreshold()) && zero(r.getNegativeSlope());
    }

    private static boolean zero(Double d) {
        return d == null || d == 0;
    }

    private static String name(MultiLayerNetwork net, int i) {
        return net.getLayer(i).conf().getLayer().getClass().getSimpleName();
    }

    private static float[] floats(INDArray a) {
        return Nd4j.toFlattened('c', a.castTo(DataType.FLOAT)).toFloatVector();
    }
}
