package org.distillery.model.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A Keras model (Keras 2 or 3, see {@link KerasFile}) rebuilt as the equivalent DL4J MultiLayerNetwork from its
 * configuration and weights, so that it runs like any other teacher (an MLP on the fast dense path). Read are
 * Sequential models and functional Models that are a single chain, of the layers InputLayer, Dense, Conv2D,
 * MaxPooling2D, Flatten, Dropout (nothing at inference) and BatchNormalization (its moving statistics), with the
 * activations of {@link #ACTIVATIONS}, 'valid' or 'same' padding, dilation 1 and one group; the last layer is a Dense.
 * Anything else is refused in one line naming the layer and what is not read.
 *
 * <p>The network reads the transfer set's rows, which hold images channels-first ({@code [C, H, W]} flattened):
 * a Keras image model is channels-last ({@code [N, H, W, C]}) by default, so its convolution kernels are transposed
 * from Keras's {@code [kh, kw, in, out]} to DL4J's {@code [out, in, kh, kw]}, and, since Keras's Flatten lays an
 * {@code [H, W, C]} tensor out as H, W, C while DL4J's flattens {@code [C, H, W]}, the rows of the first Dense kernel
 * after Flatten (and the statistics of a BatchNormalization between them) are permuted to match. A channels-first Keras
 * model reads the rows as they are.
 */
final class KerasNetwork {
    /** Keras activation names read, and DL4J's same functions. */
    static final Map<String, Activation> ACTIVATIONS = Map.ofEntries(Map.entry("linear", Activation.IDENTITY),
            Map.entry("relu", Activation.RELU), Map.entry("relu6", Activation.RELU6),
            Map.entry("sigmoid", Activation.SIGMOID), Map.entry("tanh", Activation.TANH),
            Map.entry("softmax", Activation.SOFTMAX), Map.entry("elu", Activation.ELU),
            Map.entry("selu", Activation.SELU), Map.entry("softplus", Activation.SOFTPLUS),
            Map.entry("softsign", Activation.SOFTSIGN), Map.entry("swish", Activation.SWISH),
            Map.entry("silu", Activation.SWISH));
    private static final Set<String> SKIPPED = Set.of("InputLayer", "Dropout");
    private static final String READ = "InputLayer, Dense, Conv2D, MaxPooling2D, Flatten, Dropout, BatchNormalization";

    /** One layer of the chain: its name, class, configuration and the path of its weights in a .keras archive. */
    private record Spec(String name, String type, Map<String, Object> config, String archivePath) {
    }

    /** The network, and the input the Keras model declares ({@code channelsLast}: an image read as [H, W, C]). */
    record Built(MultiLayerNetwork network, InputShapes.Declared declared, boolean channelsLast) {
        /**
         * Refuses an example shape the network's rows do not have (the network reads {@code [C, H, W]} rows for a
         * channels-last model), naming the shape Keras declares. A vector example shape for a channels-last image of
         * several channels is refused too: it does not say where the channels are.
         */
        void check(int[] example, String source) {
            long[] d = declared.dims();
            String shown = declared.describe() + (channelsLast ? " (channels-last)" : "");
            if (channelsLast && example.length == 1 && d[2] > 1 && d[0] * d[1] > 1 && d[0] * d[1] * d[2] == example[0]) {
                throw new IllegalArgumentException("teacher input " + shown + " does not match the transfer set's"
                        + " example shape " + Arrays.toString(example) + ", a vector that does not say where the"
                        + " channels are (the transfer set needs its image shape [C, H, W]): " + source);
            }
            long[] rows = channelsLast ? new long[] {d[2], d[0], d[1]} : d;
            InputShapes.feed(InputShapes.Declared.of(-1, rows), shown, example, false, source);
        }
    }

    private final String source;
    private final List<Spec> chain;
    private final long[] input;

    private KerasNetwork(String source, List<Spec> chain, long[] input) {
        this.source = source;
        this.chain = chain;
        this.input = input;
    }

    /**
     * The network in a Keras file's bytes ({@code archive}: a .keras zip, else HDF5).
     *
     * @throws IllegalArgumentException naming what is not read (model class, layer, activation, padding, ...)
     * @throws IllegalStateException when the file is not a readable Keras model
     */
    static Built read(byte[] bytes, boolean archive, String source) {
        KerasNetwork[] plan = new KerasNetwork[1];
        KerasFile file = KerasFile.read(bytes, archive, source, config -> {
            plan[0] = plan(config, source);
            Map<String, String> paths = new LinkedHashMap<>();
            plan[0].chain.forEach(s -> paths.put(s.name(), s.archivePath()));
            return paths;
        });
        return plan[0].build(file);
    }

    // ---- the chain of layers, checked before any weight is read

    @SuppressWarnings("unchecked")
    private static KerasNetwork plan(Map<String, Object> model, String source) {
        String cls = String.valueOf(model.get("class_name"));
        Object inner = model.get("config");
        List<Map<String, Object>> layers;
        if (cls.equals("Sequential")) {
            layers = (List<Map<String, Object>>) (inner instanceof List<?> l ? l : ((Map<String, Object>) inner)
                    .get("layers"));
        } else if (cls.equals("Functional") || cls.equals("Model")) {
            layers = KerasChain.order((Map<String, Object>) inner, source);
        } else {
            throw new IllegalArgumentException("Keras model class " + cls + " is not read (a Sequential model or a"
                    + " functional Model that is a single chain is): " + source);
        }
        List<Spec> chain = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        for (Map<String, Object> layer : layers) {
            Map<String, Object> config = (Map<String, Object>) layer.get("config");
            String type = String.valueOf(layer.get("class_name"));
            String name = String.valueOf(config.getOrDefault("name", layer.get("name")));
            if (!SKIPPED.contains(type) && !Set.of("Dense", "Conv2D", "MaxPooling2D", "Flatten",
                    "BatchNormalization").contains(type)) {
                throw new IllegalArgumentException("Keras layer '" + name + "' (" + type + ") is not supported; read"
                        + " are " + READ + ": " + source);
            }
            // saving_lib numbers a model's layers by class, in the order of model.layers, which for a Sequential
            // model leaves its InputLayer out
            boolean listed = !(cls.equals("Sequential") && type.equals("InputLayer") && chain.isEmpty());
            String path = snakeCase(type);
            int n = listed ? seen.merge(path, 1, Integer::sum) - 1 : 0;
            chain.add(new Spec(name, type, config, n == 0 ? path : path + "_" + n));
        }
        if (chain.stream().noneMatch(s -> !SKIPPED.contains(s.type()))) {
            throw new IllegalArgumentException("Keras model " + source + " has no layers to read");
        }
        return new KerasNetwork(source, chain, inputShape(chain, source));
    }

    /** Keras's naming.to_snake_case: {@code MaxPooling2D} to {@code max_pooling2d}. */
    static String snakeCase(String name) {
        return name.replaceAll("\\W+", "").replaceAll("(.)([A-Z][a-z]+)", "$1_$2")
                .replaceAll("([a-z])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
    }

    /** The declared input without its batch axis: an InputLayer's, else the first layer's (batch) input shape. */
    private static long[] inputShape(List<Spec> chain, String source) {
        for (String key : List.of("batch_shape", "batch_input_shape")) {
            if (chain.get(0).config().get(key) instanceof List<?> shape) {
                return dims(shape.subList(1, shape.size()), source);
            }
        }
        if (chain.get(0).config().get("build_config") instanceof Map<?, ?> build
                && build.get("input_shape") instanceof List<?> shape) {
            return dims(shape.subList(1, shape.size()), source);
        }
        throw new IllegalArgumentException("Keras model " + source + " does not declare its input shape (build it"
                + " with keras.Input before saving)");
    }

    private static long[] dims(List<?> shape, String source) {
        long[] d = new long[shape.size()];
        for (int i = 0; i < d.length; i++) {
            if (!(shape.get(i) instanceof Number n) || n.longValue() <= 0) {
                throw new IllegalArgumentException("Keras model " + source + " has input shape " + shape
                        + " with a free axis besides the batch; fixed sizes are read");
            }
            d[i] = n.longValue();
        }
        if (d.length != 1 && d.length != 3) {
            throw new IllegalArgumentException("Keras model " + source + " has input shape " + Arrays.toString(d)
                    + "; a vector (features) or an image (height, width, channels) is read");
        }
        return d;
    }

    // ---- the DL4J network

    /** The tensor between two layers as Keras sees it: its shape, and for an image whether channels come first. */
    private final class Tensor {
        long[] shape = input.clone();
        String format; // an image's data_format, fixed by the first layer that names one
        int[] order;   // after Flatten of a channels-last image: order[j] = Keras's index of DL4J's feature j

        boolean image() {
            return shape.length == 3;
        }

        long channels() {
            return channelsFirst() ? shape[0] : shape[2];
        }

        long height() {
            return channelsFirst() ? shape[1] : shape[0];
        }

        long width() {
            return channelsFirst() ? shape[2] : shape[1];
        }

        boolean channelsFirst() {
            return "channels_first".equals(format);
        }

        void format(Spec s) {
            String f = String.valueOf(s.config().getOrDefault("data_format", "channels_last"));
            f = f.equals("null") ? "channels_last" : f;
            if (format == null) {
                format = f;
            } else if (!format.equals(f) && !s.type().equals("Flatten")) {
                throw unsupported(s, "data_format " + f + " after " + format + " layers");
            }
        }
    }

    private Built build(KerasFile file) {
        Tensor t = new Tensor();
        String inputFormat = null;
        var list = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).list();
        List<Consumer<MultiLayerNetwork>> weights = new ArrayList<>();
        Spec last = null;
        for (Spec s : chain) {
            if (SKIPPED.contains(s.type())) {
                continue;
            }
            if (t.image() && !s.type().equals("Dense")) {
                t.format(s);
                inputFormat = inputFormat == null ? t.format : inputFormat;
            }
            int index = weights.size();
            Layer layer = switch (s.type()) {
                case "Dense" -> dense(s, t, file, index, weights);
                case "Conv2D" -> conv(s, t, file, index, weights);
                case "MaxPooling2D" -> pool(s, t);
                case "BatchNormalization" -> batchNorm(s, t, file, index, weights);
                case "Flatten" -> {
                    flatten(s, t);
                    yield null;
                }
                default -> throw new IllegalStateException("unplanned layer type " + s.type());
            };
            if (layer != null) {
                list.layer(layer);
                if (weights.size() == index) {
                    weights.add(net -> { });
                }
            }
            last = s;
        }
        if (!"Dense".equals(last.type())) {
            throw new IllegalArgumentException("Keras model " + source + " ends in layer '" + last.name() + "' ("
                    + last.type() + "); a final Dense layer (the logits, or softmax of them) is read");
        }
        boolean channelsLast = input.length == 3 && !"channels_first".equals(inputFormat);
        long[] nchw = input.length == 1 ? input : channelsLast ? new long[] {input[2], input[0], input[1]} : input;
        list.setInputType(input.length == 1 ? InputType.feedForward(input[0])
                : InputType.convolutionalFlat(nchw[1], nchw[2], nchw[0]));
        MultiLayerNetwork net = new MultiLayerNetwork(list.build());
        net.init();
        for (Consumer<MultiLayerNetwork> w : weights) {
            w.accept(net);
        }
        return new Built(net, new InputShapes.Declared(-1, input, new String[input.length]), channelsLast);
    }

    private Layer dense(Spec s, Tensor t, KerasFile file, int index, List<Consumer<MultiLayerNetwork>> weights) {
        if (t.shape.length != 1) {
            throw unsupported(s, "Dense on a " + t.shape.length + "-D input " + Arrays.toString(t.shape)
                    + " (add Flatten before it)");
        }
        long units = number(s, "units");
        boolean bias = flag(s, "use_bias", true);
        INDArray kernel = weight(file, s, "kernel", 0, t.shape[0], units);
        INDArray b = bias ? weight(file, s, "bias", 1, units) : null;
        if (t.order != null) {
            kernel = rows(kernel, t.order);
            t.order = null;
        }
        INDArray w = kernel;
        weights.add(net -> {
            set(net, index, "W", w, s);
            if (b != null) {
                set(net, index, "b", b, s);
            }
        });
        t.shape = new long[] {units};
        return new DenseLayer.Builder().nOut(units).activation(activation(s)).hasBias(bias).build();
    }

    private Layer conv(Spec s, Tensor t, KerasFile file, int index, List<Consumer<MultiLayerNetwork>> weights) {
        requireImage(s, t);
        int[] k = pair(s, "kernel_size");
        int[] stride = pair(s, "strides");
        if (!Arrays.equals(pair(s, "dilation_rate"), new int[] {1, 1})) {
            throw unsupported(s, "dilation_rate " + s.config().get("dilation_rate"));
        }
        if (number(s, "groups", 1) != 1) {
            throw unsupported(s, "groups " + s.config().get("groups"));
        }
        long filters = number(s, "filters");
        boolean bias = flag(s, "use_bias", true);
        INDArray kernel = weight(file, s, "kernel", 0, k[0], k[1], t.channels(), filters).permute(3, 2, 0, 1);
        INDArray b = bias ? weight(file, s, "bias", 1, filters) : null;
        weights.add(net -> {
            set(net, index, "W", kernel, s);
            if (b != null) {
                set(net, index, "b", b, s);
            }
        });
        ConvolutionMode mode = padding(s);
        resize(t, k, stride, mode, filters);
        return new ConvolutionLayer.Builder(k[0], k[1]).stride(stride[0], stride[1]).nOut(filters)
                .convolutionMode(mode).activation(activation(s)).hasBias(bias).build();
    }

    private Layer pool(Spec s, Tensor t) {
        requireImage(s, t);
        int[] k = pair(s, "pool_size");
        int[] stride = s.config().get("strides") == null ? k : pair(s, "strides");
        ConvolutionMode mode = padding(s);
        resize(t, k, stride, mode, t.channels());
        return new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(k[0], k[1]).stride(stride[0], stride[1])
                .convolutionMode(mode).build();
    }

    private Layer batchNorm(Spec s, Tensor t, KerasFile file, int index, List<Consumer<MultiLayerNetwork>> weights) {
        long axis = axis(s);
        long rank = t.shape.length + 1;
        long channelAxis = !t.image() ? 1 : t.channelsFirst() ? 1 : 3;
        if ((axis < 0 ? axis + rank : axis) != channelAxis) {
            throw unsupported(s, "axis " + s.config().get("axis") + " (the channel or feature axis is read)");
        }
        long n = t.image() ? t.channels() : t.shape[0];
        boolean scale = flag(s, "scale", true);
        boolean center = flag(s, "center", true);
        int i = 0;
        INDArray gamma = scale ? weight(file, s, "gamma", i++, n) : null;
        INDArray beta = center ? weight(file, s, "beta", i++, n) : null;
        INDArray mean = weight(file, s, "moving_mean", i++, n);
        INDArray variance = weight(file, s, "moving_variance", i, n);
        int[] order = t.order;
        weights.add(net -> {
            set(net, index, "gamma", gamma == null ? ones(n) : permuted(gamma, order), s);
            set(net, index, "beta", beta == null ? mean.mul(0) : permuted(beta, order), s);
            set(net, index, "mean", permuted(mean, order), s);
            set(net, index, "var", permuted(variance, order), s);
        });
        double eps = s.config().get("epsilon") instanceof Number e ? e.doubleValue() : 1e-3;
        return new BatchNormalization.Builder().nOut(n).eps(eps).useLogStd(false).build();
    }

    private void flatten(Spec s, Tensor t) {
        if (!t.image()) {
            return;
        }
        boolean flattenFirst = "channels_first".equals(s.config().get("data_format"));
        if (!t.channelsFirst() && flattenFirst) {
            throw unsupported(s, "data_format channels_first on a channels_last tensor");
        }
        int c = (int) t.channels();
        int h = (int) t.height();
        int w = (int) t.width();
        if (!t.channelsFirst() || flattenFirst) { // Keras lays values out as H, W, C; DL4J as C, H, W
            int[] order = new int[c * h * w];
            for (int ch = 0; ch < c; ch++) {
                for (int p = 0; p < h * w; p++) {
                    order[ch * h * w + p] = p * c + ch;
                }
            }
            t.order = order;
        }
        t.shape = new long[] {(long) c * h * w};
    }

    private void resize(Tensor t, int[] k, int[] stride, ConvolutionMode mode, long channels) {
        long h = mode == ConvolutionMode.Same ? ceilDiv(t.height(), stride[0]) : (t.height() - k[0]) / stride[0] + 1;
        long w = mode == ConvolutionMode.Same ? ceilDiv(t.width(), stride[1]) : (t.width() - k[1]) / stride[1] + 1;
        if (h <= 0 || w <= 0) {
            throw new IllegalArgumentException("Keras model " + source + ": a window larger than its input ("
                    + t.height() + " x " + t.width() + ")");
        }
        t.shape = t.channelsFirst() ? new long[] {channels, h, w} : new long[] {h, w, channels};
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    // ---- configuration values

    private void requireImage(Spec s, Tensor t) {
        if (!t.image()) {
            throw unsupported(s, "a " + t.shape.length + "-D input " + Arrays.toString(t.shape) + " (an image"
                    + " [height, width, channels] is read)");
        }
    }

    private ConvolutionMode padding(Spec s) {
        String padding = String.valueOf(s.config().get("padding")).toLowerCase(Locale.ROOT);
        return switch (padding) {
            case "valid" -> ConvolutionMode.Truncate;
            case "same" -> ConvolutionMode.Same;
            default -> throw unsupported(s, "padding '" + padding + "' ('valid' and 'same' are read)");
        };
    }

    private Activation activation(Spec s) {
        Object a = s.config().getOrDefault("activation", "linear");
        if (a instanceof Map<?, ?> m && m.get("config") instanceof String name) { // a serialised built-in
            a = name;
        }
        Activation dl4j = a instanceof String name ? ACTIVATIONS.get(name) : null;
        if (dl4j == null) {
            throw unsupported(s, "activation " + a + " (read are " + String.join(", ",
                    new java.util.TreeSet<>(ACTIVATIONS.keySet())) + ")");
        }
        return dl4j;
    }

    private long axis(Spec s) {
        Object a = s.config().getOrDefault("axis", -1);
        if (a instanceof List<?> l && l.size() == 1) {
            a = l.get(0);
        }
        if (!(a instanceof Number n)) {
            throw unsupported(s, "axis " + a);
        }
        return n.longValue();
    }

    private int[] pair(Spec s, String key) {
        Object v = s.config().get(key);
        if (v instanceof Number n) {
            return new int[] {n.intValue(), n.intValue()};
        }
        if (v instanceof List<?> l && l.size() == 2 && l.get(0) instanceof Number a && l.get(1) instanceof Number b) {
            return new int[] {a.intValue(), b.intValue()};
        }
        throw unsupported(s, key + " " + v);
    }

    private long number(Spec s, String key) {
        if (s.config().get(key) instanceof Number n) {
            return n.longValue();
        }
        throw unsupported(s, key + " " + s.config().get(key));
    }

    private long number(Spec s, String key, long otherwise) {
        return s.config().containsKey(key) ? number(s, key) : otherwise;
    }

    private static boolean flag(Spec s, String key, boolean otherwise) {
        return s.config().get(key) instanceof Boolean b ? b : otherwise;
    }

    private IllegalArgumentException unsupported(Spec s, String what) {
        return new IllegalArgumentException("Keras layer '" + s.name() + "' (" + s.type() + ") has " + what
                + ", which is not read: " + source);
    }

    // ---- weights

    private INDArray weight(KerasFile file, Spec s, String name, int index, long... shape) {
        INDArray w = file.weight(s.name(), name, index);
        if (w == null || !Arrays.equals(w.shape(), shape)) {
            throw new IllegalStateException("Keras model " + source + ": layer '" + s.name() + "' has "
                    + (w == null ? "no weight " + name : "weight " + name + " of shape " + Arrays.toString(w.shape()))
                    + ", expected " + Arrays.toString(shape));
        }
        return w.castTo(DataType.FLOAT);
    }

    private static INDArray rows(INDArray kernel, int[] order) {
        INDArray out = kernel.dup('c');
        for (int j = 0; j < order.length; j++) {
            out.getRow(j).assign(kernel.getRow(order[j]));
        }
        return out;
    }

    private static INDArray permuted(INDArray v, int[] order) {
        if (order == null) {
            return v;
        }
        INDArray out = v.dup();
        for (int j = 0; j < order.length; j++) {
            out.putScalar(j, v.getDouble(order[j]));
        }
        return out;
    }

    private static INDArray ones(long n) {
        return org.nd4j.linalg.factory.Nd4j.ones(DataType.FLOAT, n);
    }

    private void set(MultiLayerNetwork net, int layer, String key, INDArray value, Spec s) {
        INDArray p = net.getLayer(layer).getParam(key);
        if (p == null || p.length() != value.length()) {
            throw new IllegalStateException("Keras model " + source + ": layer '" + s.name() + "' weight " + key
                    + " does not fit the DL4J layer (" + (p == null ? "none" : Arrays.toString(p.shape())) + " vs "
                    + Arrays.toString(value.shape()) + ")");
        }
        p.assign(value.rank() == p.rank() ? value : value.reshape(p.shape()));
    }
}
