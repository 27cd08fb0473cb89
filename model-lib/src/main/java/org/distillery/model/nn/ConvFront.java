package org.distillery.model.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The convolution layers at the front of a LeNet-style network ({@link Architecture}'s {@code cnn:} form, or a Keras
 * CNN of the same kinds of layers) as im2col plus one {@code Nd4j.gemm} per convolution, forward and backward, for
 * {@link DenseTrainingStep} and {@link DenseInference}. DL4J's own convolution and pooling layers take ~130 ms per
 * 64-row training step of the demo's {@code cnn:20,50:500} teacher on one thread, this class ~23 ms, about PyTorch's
 * speed (docs/PERFORMANCE.md, "Training: parameter averaging"): the arithmetic is three gemms per convolution over the
 * whole minibatch, and the rest (im2col, its transpose col2im, bias, ReLU, max pooling) one pass each in plain Java
 * over heap arrays.
 *
 * <p>It covers, from layer 0 up to the first dense layer: {@link ConvolutionLayer}s (NCHW, no padding, dilation 1,
 * {@code Truncate} or {@code Strict} mode, any kernel and stride, a bias, ReLU or identity activation) and max-pooling
 * {@link SubsamplingLayer}s (no padding, dilation 1, any kernel and stride), with the network's input a flat row
 * reshaped by a {@link FeedForwardToCnnPreProcessor} and the first dense layer's a {@link CnnToFeedForwardPreProcessor};
 * float parameters; no dropout, weight noise, regularization, constraints or gradient normalization on these layers.
 * {@link #unsupported} names what it does not cover.
 *
 * <p>Layout: every activation held here is channel-major, [channels, rows, height, width], which is what the gemm
 * {@code W [out, in*kh*kw] x col [in*kh*kw, rows*oh*ow]} writes; the input and the flattened output are DL4J's
 * row-major [rows, channels*height*width]. A convolution's weights and gradients are views of DL4J's
 * {@code [out, in, kh, kw]} parameter arrays seen as [out, in*kh*kw], so the network's updater, checkpoints and
 * parameter averaging see the same arrays as after {@code fit}. Max pooling routes a window's gradient to its first
 * largest element in row-major order; DL4J may pick another among exact ties. After a ReLU the common ties are zeros,
 * whose gradient the ReLU stops either way; ties of other values are as rare as two equal float sums.
 *
 * <p>The weights are read at each call (views, or copies with {@code copyWeights}); the per-call buffers live in a
 * {@link Work}, one per thread that calls it.
 */
final class ConvFront {
    private final Stage[] stages;
    private final int layers;
    private final long inputs;
    private final long outputs;

    /** One layer of the front: a convolution (with weights) or a max pooling. */
    private static final class Stage {
        final boolean conv;
        final int inC;
        final int inH;
        final int inW;
        final int outC;
        final int outH;
        final int outW;
        final int kh;
        final int kw;
        final int sh;
        final int sw;
        final boolean relu;
        /** [out, in*kh*kw] views (or copies) of the weights and their gradient; the bias and its gradient. */
        INDArray weights;
        INDArray weightGrad;
        INDArray bias;
        INDArray biasGrad;

        Stage(boolean conv, int inC, int inH, int inW, int outC, int[] kernel, int[] stride, boolean relu) {
            this.conv = conv;
            this.inC = inC;
            this.inH = inH;
            this.inW = inW;
            this.outC = outC;
            this.kh = kernel[0];
            this.kw = kernel[1];
            this.sh = stride[0];
            this.sw = stride[1];
            this.outH = (inH - kh) / sh + 1;
            this.outW = (inW - kw) / sw + 1;
            this.relu = relu;
        }

        int k() {
            return inC * kh * kw;
        }

        int inPlane() {
            return inH * inW;
        }

        int outPlane() {
            return outH * outW;
        }
    }

    private ConvFront(MultiLayerNetwork net, int layers, boolean copyWeights) {
        this.layers = layers;
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        FeedForwardToCnnPreProcessor in = (FeedForwardToCnnPreProcessor) conf.getInputPreProcess(0);
        int c = (int) in.getNumChannels();
        int h = (int) in.getInputHeight();
        int w = (int) in.getInputWidth();
        inputs = (long) c * h * w;
        stages = new Stage[layers];
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            for (int i = 0; i < layers; i++) {
                Layer layer = net.getLayer(i);
                Stage s;
                if (layer.conf().getLayer() instanceof ConvolutionLayer cl) {
                    s = new Stage(true, c, h, w, (int) cl.getNOut(), cl.getKernelSize(), cl.getStride(),
                            cl.getActivationFn() instanceof ActivationReLU);
                    INDArray w4 = layer.getParam(ConvolutionParamInitializer.WEIGHT_KEY);
                    INDArray b = layer.getParam(ConvolutionParamInitializer.BIAS_KEY);
                    s.weights = copyWeights ? w4.dup('c').reshape('c', s.outC, s.k()) : matrixView(w4, s.outC, s.k());
                    s.bias = copyWeights ? b.dup('c') : b;
                    if (!copyWeights) {
                        Map<String, INDArray> grads = layer.conf().getLayer().initializer()
                                .getGradientsFromFlattened(layer.conf(), layer.getGradientsViewArray());
                        s.weightGrad = matrixView(grads.get(ConvolutionParamInitializer.WEIGHT_KEY), s.outC, s.k());
                        s.biasGrad = grads.get(ConvolutionParamInitializer.BIAS_KEY);
                    }
                } else {
                    SubsamplingLayer sl = (SubsamplingLayer) layer.conf().getLayer();
                    s = new Stage(false, c, h, w, c, sl.getKernelSize(), sl.getStride(), false);
                }
                stages[i] = s;
                c = s.outC;
                h = s.outH;
                w = s.outW;
            }
        }
        outputs = (long) c * h * w;
    }

    /** {@code a}, a contiguous 'c' array, seen as [rows, cols] without a copy (writes reach {@code a}). */
    private static INDArray matrixView(INDArray a, int rows, int cols) {
        if (a.ordering() != 'c' || a.elementWiseStride() != 1 || a.length() != (long) rows * cols) {
            throw new IllegalStateException("a contiguous 'c' array of " + rows * cols + " elements is needed, got "
                    + a.shapeInfoToString());
        }
        INDArray m = a.reshape('c', rows, cols);
        if (m.data().address() + 4 * m.offset() != a.data().address() + 4 * a.offset()) {
            throw new IllegalStateException("reshaping " + a.shapeInfoToString() + " copied it");
        }
        return m;
    }

    /** How many layers at the front of {@code net} are convolutions or poolings (0 for an MLP). */
    static int frontLayers(MultiLayerNetwork net) {
        int i = 0;
        while (i < net.getnLayers() && isFrontLayer(net.getLayer(i).conf().getLayer())) {
            i++;
        }
        return i;
    }

    private static boolean isFrontLayer(org.deeplearning4j.nn.conf.layers.Layer layer) {
        return layer.getClass() == ConvolutionLayer.class || layer.getClass() == SubsamplingLayer.class;
    }

    /** The front of {@code net} (its first {@link #frontLayers} layers), or null when it has none or is not covered. */
    static ConvFront of(MultiLayerNetwork net, boolean copyWeights) {
        int layers = frontLayers(net);
        return layers == 0 || unsupported(net, !copyWeights) != null ? null : new ConvFront(net, layers, copyWeights);
    }

    /**
     * Why the front of {@code net} is outside this class, or null when it is covered (or has no layers). For
     * {@code training}, the layers must also be free of what changes training only (dropout, weight noise,
     * regularization, constraints, gradient normalization).
     */
    static String unsupported(MultiLayerNetwork net, boolean training) {
        int layers = frontLayers(net);
        if (layers == 0) {
            return null;
        }
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        if (!(conf.getInputPreProcess(0) instanceof FeedForwardToCnnPreProcessor)) {
            return "layer 0 does not take a flat row reshaped to an image (" + describe(conf.getInputPreProcess(0))
                    + ")";
        }
        if (layers == net.getnLayers()) {
            return "the network has no dense layer after its convolutions";
        }
        if (!(conf.getInputPreProcess(layers) instanceof CnnToFeedForwardPreProcessor flat)
                || flat.getFormat() != CNN2DFormat.NCHW) {
            return "layer " + layers + " does not take the flattened NCHW image ("
                    + describe(conf.getInputPreProcess(layers)) + ")";
        }
        for (int i = 0; i < layers; i++) {
            var layer = net.getLayer(i).conf().getLayer();
            if (i > 0 && conf.getInputPreProcess(i) != null) {
                return "layer " + i + " has an input preprocessor";
            }
            String reason = layer instanceof ConvolutionLayer cl ? unsupportedConv(cl, net.getLayer(i), training)
                    : unsupportedPool((SubsamplingLayer) layer);
            if (reason != null) {
                return "layer " + i + " (" + layer.getClass().getSimpleName() + ") " + reason;
            }
            if (training && layer.getIDropout() != null) {
                return "layer " + i + " (" + layer.getClass().getSimpleName() + ") has dropout";
            }
        }
        return null;
    }

    private static String describe(InputPreProcessor p) {
        return p == null ? "no preprocessor" : p.getClass().getSimpleName();
    }

    private static String unsupportedConv(ConvolutionLayer cl, Layer layer, boolean training) {
        String shape = unsupportedWindow(cl.getConvolutionMode(), cl.getPadding(), cl.getDilation(),
                cl.getCnn2dDataFormat());
        if (shape != null) {
            return shape;
        }
        if (!cl.hasBias()) {
            return "has no bias";
        }
        IActivation a = cl.getActivationFn();
        if (!(a instanceof ActivationIdentity || a instanceof ActivationReLU r && r.getMax() == null
                && (r.getThreshold() == null || r.getThreshold() == 0)
                && (r.getNegativeSlope() == null || r.getNegativeSlope() == 0))) {
            return "has activation " + a;
        }
        INDArray w = layer.getParam(ConvolutionParamInitializer.WEIGHT_KEY);
        if (w == null || w.dataType() != DataType.FLOAT) {
            return "has no float32 weights";
        }
        if (training) {
            if (cl.getWeightNoise() != null) {
                return "has weight noise";
            }
            if (!cl.getRegularization().isEmpty() || !cl.getRegularizationBias().isEmpty()) {
                return "has regularization";
            }
            if (cl.getConstraints() != null && !cl.getConstraints().isEmpty()) {
                return "has constraints";
            }
            if (cl.getGradientNormalization() != null && cl.getGradientNormalization() != GradientNormalization.None) {
                return "has gradient normalization " + cl.getGradientNormalization();
            }
        }
        return null;
    }

    private static String unsupportedPool(SubsamplingLayer sl) {
        if (sl.getPoolingType() != PoolingType.MAX) {
            return "pools by " + sl.getPoolingType();
        }
        return unsupportedWindow(sl.getConvolutionMode(), sl.getPadding(), sl.getDilation(), sl.getCnn2dDataFormat());
    }

    private static String unsupportedWindow(ConvolutionMode mode, int[] padding, int[] dilation, CNN2DFormat format) {
        if (mode != ConvolutionMode.Truncate && mode != ConvolutionMode.Strict) {
            return "has convolution mode " + mode;
        }
        if (padding != null && (padding[0] != 0 || padding[1] != 0)) {
            return "has padding " + padding[0] + "x" + padding[1];
        }
        if (dilation != null && (dilation[0] != 1 || dilation[1] != 1)) {
            return "has dilation " + dilation[0] + "x" + dilation[1];
        }
        if (format != null && format != CNN2DFormat.NCHW) {
            return "has data format " + format;
        }
        return null;
    }

    /** Width of the flat input row: channels * height * width. */
    long inputs() {
        return inputs;
    }

    /** Width of the flattened output the first dense layer takes. */
    long outputs() {
        return outputs;
    }

    /** Adds each convolution's gradient views to {@code g}, keyed as DL4J's layers key them. */
    void registerGradients(Gradient g) {
        for (int i = 0; i < layers; i++) {
            if (stages[i].conv) {
                g.setGradientFor(i + "_" + ConvolutionParamInitializer.BIAS_KEY, stages[i].biasGrad);
                g.setGradientFor(i + "_" + ConvolutionParamInitializer.WEIGHT_KEY,
                        stages[i].weightGrad.reshape('c', stages[i].outC, stages[i].inC, stages[i].kh, stages[i].kw),
                        'c');
            }
        }
    }

    /** Buffers for one thread's calls, for up to {@code capacity} rows. */
    Work work(long capacity) {
        return new Work(capacity);
    }

    /** Per-call buffers: heap arrays for the Java passes, native arrays for the gemms. Not thread-safe. */
    final class Work {
        final long capacity;
        /** Per stage: its output activation, channel-major; for a convolution after ReLU (its mask: > 0). */
        private final float[][] act;
        /** Per pooling stage: the input index of each output's maximum. */
        private final int[][] argmax;
        /** Per convolution: im2col of its input as [k, rows*oh*ow], then (backward) its gradient. */
        private final INDArray[] col;
        /** Per convolution: its pre-activation [out, rows*oh*ow], then (backward) its gradient. */
        private final INDArray[] z;
        /** Per stage: the gradient at its input (none for the first stage), channel-major. */
        private final float[][] below;
        private final float[] colHeap;
        private final float[] input;
        private final float[] channelMajorInput;
        private final float[] flatHeap;
        private final float[] lastGrad;
        private final INDArray flat;
        private long viewRows = -1;
        private INDArray[] colView;
        private INDArray[] zView;
        private INDArray flatView;

        private Work(long capacity) {
            this.capacity = capacity;
            int cap = Math.toIntExact(capacity);
            act = new float[layers][];
            below = new float[layers][];
            argmax = new int[layers][];
            col = new INDArray[layers];
            z = new INDArray[layers];
            int largestCol = 0;
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                for (int i = 0; i < layers; i++) {
                    Stage s = stages[i];
                    int outSize = Math.multiplyExact(Math.multiplyExact(s.outC, cap), s.outPlane());
                    act[i] = new float[outSize];
                    if (i > 0) {
                        below[i] = new float[Math.multiplyExact(Math.multiplyExact(s.inC, cap), s.inPlane())];
                    }
                    if (s.conv) {
                        long cols = (long) cap * s.outPlane();
                        col[i] = Nd4j.createUninitialized(DataType.FLOAT, new long[] {(long) s.k() * cols}, 'c');
                        z[i] = Nd4j.createUninitialized(DataType.FLOAT, new long[] {(long) s.outC * cols}, 'c');
                        largestCol = Math.max(largestCol, Math.multiplyExact(s.k(), Math.toIntExact(cols)));
                    } else {
                        argmax[i] = new int[outSize];
                    }
                }
                flat = Nd4j.createUninitialized(DataType.FLOAT, new long[] {capacity, outputs}, 'c');
            }
            colHeap = new float[largestCol];
            input = new float[Math.multiplyExact(cap, Math.toIntExact(inputs))];
            channelMajorInput = stages[0].inC == 1 ? input : new float[input.length];
            flatHeap = new float[Math.multiplyExact(cap, Math.toIntExact(outputs))];
            lastGrad = new float[flatHeap.length];
        }

        /** [k, rows*oh*ow] and [out, rows*oh*ow] views of the first {@code rows} rows' buffers, made once per size. */
        private void views(long rows) {
            if (rows == viewRows) {
                return;
            }
            colView = new INDArray[layers];
            zView = new INDArray[layers];
            for (int i = 0; i < layers; i++) {
                Stage s = stages[i];
                if (s.conv) {
                    long cols = rows * s.outPlane();
                    colView[i] = col[i].get(NDArrayIndex.interval(0, s.k() * cols)).reshape('c', s.k(), cols);
                    zView[i] = z[i].get(NDArrayIndex.interval(0, s.outC * cols)).reshape('c', s.outC, cols);
                }
            }
            flatView = rows == capacity ? flat : flat.get(NDArrayIndex.interval(0, rows), NDArrayIndex.all());
            viewRows = rows;
        }
    }

    /**
     * The flattened output of the front for {@code features} [rows, inputs] (rows at most the work's capacity): a
     * row-major [rows, outputs] view of a buffer in {@code work}, valid until its next call. Keeps what
     * {@link #backward} needs in {@code work}.
     */
    INDArray forward(Work work, INDArray features) {
        int rows = (int) features.size(0);
        if (rows > work.capacity) {
            throw new IllegalArgumentException(rows + " rows, more than the buffers' " + work.capacity);
        }
        work.views(rows);
        INDArray in = features.dataType() == DataType.FLOAT ? features : features.castTo(DataType.FLOAT);
        if (in.ordering() != 'c' || in.elementWiseStride() != 1) {
            in = in.dup('c');
        }
        float[] x = work.input;
        DenseKernels.floats(in).get((int) in.offset(), x, 0, rows * (int) inputs);
        if (stages[0].inC > 1) {
            toChannelMajor(x, stages[0].inC, rows, stages[0].inPlane(), work.channelMajorInput);
            x = work.channelMajorInput;
        }
        for (int i = 0; i < layers; i++) {
            Stage s = stages[i];
            if (s.conv) {
                convForward(s, x, rows, work.colView[i], work.zView[i], work.act[i], work.colHeap);
            } else {
                maxPool(s, x, rows, work.act[i], work.argmax[i]);
            }
            x = work.act[i];
        }
        Stage last = stages[layers - 1];
        float[] out = work.flatHeap;
        fromChannelMajor(x, last.outC, rows, last.outPlane(), out);
        DenseKernels.floats(work.flatView).put((int) work.flatView.offset(), out, 0, rows * (int) outputs);
        return work.flatView;
    }

    /**
     * Back-propagates {@code eps}, the loss's gradient at the flattened output [rows, outputs] for the rows of the
     * last {@link #forward}, writing each convolution's weight and bias gradients into the network's gradient views.
     */
    void backward(Work work, INDArray eps) {
        int rows = (int) eps.size(0);
        if (rows != work.viewRows) {
            throw new IllegalStateException("backward over " + rows + " rows after a forward over " + work.viewRows);
        }
        float[] flatEps = work.flatHeap;
        INDArray e = eps.ordering() == 'c' && eps.elementWiseStride() == 1 ? eps : eps.dup('c');
        DenseKernels.floats(e).get((int) e.offset(), flatEps, 0, rows * (int) outputs);
        Stage last = stages[layers - 1];
        float[] grad = work.lastGrad;
        toChannelMajor(flatEps, last.outC, rows, last.outPlane(), grad);
        for (int i = layers - 1; i >= 0; i--) {
            Stage s = stages[i];
            float[] below = work.below[i];
            if (below != null) {
                Arrays.fill(below, 0, s.inC * rows * s.inPlane(), 0f);
            }
            if (s.conv) {
                convBackward(s, grad, work.act[i], rows, work.colView[i], work.zView[i], below, work.colHeap);
            } else if (below != null) { // a pooling first layer has no parameters and nothing below it
                int[] from = work.argmax[i];
                int n = s.outC * rows * s.outPlane();
                for (int j = 0; j < n; j++) {
                    below[from[j]] += grad[j];
                }
            }
            grad = below;
        }
    }

    /** NCHW [rows, c, plane] to channel-major [c, rows, plane]. */
    private static void toChannelMajor(float[] x, int c, int rows, int plane, float[] out) {
        for (int r = 0; r < rows; r++) {
            for (int ch = 0; ch < c; ch++) {
                System.arraycopy(x, (r * c + ch) * plane, out, (ch * rows + r) * plane, plane);
            }
        }
    }

    /** Channel-major [c, rows, plane] to NCHW [rows, c, plane]. */
    private static void fromChannelMajor(float[] x, int c, int rows, int plane, float[] out) {
        for (int ch = 0; ch < c; ch++) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(x, (ch * rows + r) * plane, out, (r * c + ch) * plane, plane);
            }
        }
    }

    /**
     * im2col of {@code x} [inC, rows, inH, inW] into [k, rows*outH*outW] (row k = (c, ky, kx), column = (row, oy,
     * ox)), then z = W col, then bias and ReLU into {@code act} [outC, rows, outH, outW].
     */
    private static void convForward(Stage s, float[] x, int rows, INDArray col, INDArray z, float[] act,
                                    float[] heap) {
        int cols = rows * s.outPlane();
        final int inC = s.inC;
        final int kh = s.kh;
        final int kw = s.kw;
        final int inW = s.inW;
        final int inPlane = s.inPlane();
        final int outH = s.outH;
        final int outW = s.outW;
        final int rowStep = s.sh * inW;
        final int sw = s.sw;
        int k = 0;
        for (int c = 0; c < inC; c++) {
            for (int ky = 0; ky < kh; ky++) {
                for (int kx = 0; kx < kw; kx++, k++) {
                    int at = k * cols;
                    for (int r = 0; r < rows; r++) {
                        int from = (c * rows + r) * inPlane + ky * inW + kx;
                        for (int oy = 0; oy < outH; oy++, from += rowStep, at += outW) {
                            if (sw == 1) {
                                for (int ox = 0; ox < outW; ox++) {
                                    heap[at + ox] = x[from + ox];
                                }
                            } else {
                                for (int ox = 0; ox < outW; ox++) {
                                    heap[at + ox] = x[from + ox * sw];
                                }
                            }
                        }
                    }
                }
            }
        }
        DenseKernels.floats(col).put((int) col.offset(), heap, 0, s.k() * cols);
        Nd4j.gemm(s.weights, col, z, false, false, 1.0, 0.0);
        DenseKernels.floats(z).get((int) z.offset(), act, 0, s.outC * cols);
        float[] bias = new float[s.outC];
        DenseKernels.floats(s.bias).get((int) s.bias.offset(), bias);
        for (int o = 0; o < s.outC; o++) {
            float b = bias[o];
            int end = (o + 1) * cols;
            if (s.relu) {
                for (int j = o * cols; j < end; j++) {
                    act[j] = relu(act[j] + b);
                }
            } else {
                for (int j = o * cols; j < end; j++) {
                    act[j] += b;
                }
            }
        }
    }

    /**
     * Given {@code grad} at the activation [outC, rows, outH, outW]: through the ReLU (in place), the bias and weight
     * gradients, and, when {@code below} is not null, col2im of W^T grad added into {@code below} [inC, rows, inH, inW].
     */
    private static void convBackward(Stage s, float[] grad, float[] act, int rows, INDArray col, INDArray z,
                                     float[] below, float[] heap) {
        int cols = rows * s.outPlane();
        float[] biasGrad = new float[s.outC];
        for (int o = 0; o < s.outC; o++) {
            int start = o * cols;
            int end = start + cols;
            if (s.relu) {
                for (int j = start; j < end; j++) {
                    grad[j] = reluBackprop(act[j], grad[j]);
                }
            }
            biasGrad[o] = (float) sum(grad, start, end);
        }
        DenseKernels.floats(s.biasGrad).put((int) s.biasGrad.offset(), biasGrad);
        DenseKernels.floats(z).put((int) z.offset(), grad, 0, s.outC * cols);
        Nd4j.gemm(z, col, s.weightGrad, false, true, 1.0, 0.0);
        if (below == null) {
            return;
        }
        Nd4j.gemm(s.weights, z, col, true, false, 1.0, 0.0); // col's im2col is spent: its gradient goes there
        DenseKernels.floats(col).get((int) col.offset(), heap, 0, s.k() * cols);
        final int inC = s.inC;
        final int kh = s.kh;
        final int kw = s.kw;
        final int inW = s.inW;
        final int inPlane = s.inPlane();
        final int outH = s.outH;
        final int outW = s.outW;
        final int rowStep = s.sh * inW;
        final int sw = s.sw;
        int k = 0;
        for (int c = 0; c < inC; c++) {
            for (int ky = 0; ky < kh; ky++) {
                for (int kx = 0; kx < kw; kx++, k++) {
                    int at = k * cols;
                    for (int r = 0; r < rows; r++) {
                        int to = (c * rows + r) * inPlane + ky * inW + kx;
                        for (int oy = 0; oy < outH; oy++, to += rowStep, at += outW) {
                            if (sw == 1) {
                                for (int ox = 0; ox < outW; ox++) {
                                    below[to + ox] += heap[at + ox];
                                }
                            } else {
                                for (int ox = 0; ox < outW; ox++) {
                                    below[to + ox * sw] += heap[at + ox];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * DL4J's ReLU, {@code v > 0 ? v : 0}, without a branch (a sign that is as often negative as not defeats branch
     * prediction): negative values and -0 become +0; NaN, which DL4J's turns into 0, keeps NaN or becomes +0 by its
     * sign bit.
     */
    static float relu(float v) {
        int bits = Float.floatToRawIntBits(v);
        return Float.intBitsToFloat(bits & ~(bits >> 31));
    }

    /**
     * ReLU's backprop, {@code a > 0 ? g : 0} for an activation {@code a} that {@link #relu} made (+0 or positive),
     * without a branch: the bits of such an {@code a} are 0 exactly when it is not positive.
     */
    static float reluBackprop(float a, float g) {
        return Float.intBitsToFloat(Float.floatToRawIntBits(g) & (-Float.floatToRawIntBits(a) >> 31));
    }

    /** The sum of {@code v[start, end)} in double, four running sums (not one long chain of dependent adds). */
    static double sum(float[] v, int start, int end) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int j = start;
        for (; j + 3 < end; j += 4) {
            s0 += v[j];
            s1 += v[j + 1];
            s2 += v[j + 2];
            s3 += v[j + 3];
        }
        for (; j < end; j++) {
            s0 += v[j];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Max over each window of {@code x} [c, rows, inH, inW] into {@code out} [c, rows, outH, outW]. */
    private static void maxPool(Stage s, float[] x, int rows, float[] out, int[] argmax) {
        final int planes = s.inC * rows;
        final int inPlane = s.inPlane();
        final int inW = s.inW;
        final int outH = s.outH;
        final int outW = s.outW;
        final int sh = s.sh;
        final int sw = s.sw;
        final int kh = s.kh;
        final int kw = s.kw;
        int o = 0;
        for (int plane = 0; plane < planes; plane++) {
            int base = plane * inPlane;
            for (int oy = 0; oy < outH; oy++) {
                int top = base + oy * sh * inW;
                if (kh == 2 && kw == 2) { // LeNet's window, unrolled: first largest in row-major order
                    for (int ox = 0; ox < outW; ox++, o++) {
                        int a = top + ox * sw;
                        int best = a;
                        float max = x[a];
                        if (x[a + 1] > max) {
                            max = x[a + 1];
                            best = a + 1;
                        }
                        if (x[a + inW] > max) {
                            max = x[a + inW];
                            best = a + inW;
                        }
                        if (x[a + inW + 1] > max) {
                            max = x[a + inW + 1];
                            best = a + inW + 1;
                        }
                        out[o] = max;
                        argmax[o] = best;
                    }
                    continue;
                }
                for (int ox = 0; ox < outW; ox++, o++) {
                    int best = top + ox * sw;
                    float max = x[best];
                    for (int ky = 0; ky < kh; ky++) {
                        int rowStart = top + ky * inW + ox * sw;
                        for (int kx = 0; kx < kw; kx++) {
                            float v = x[rowStart + kx];
                            if (v > max) {
                                max = v;
                                best = rowStart + kx;
                            }
                        }
                    }
                    out[o] = max;
                    argmax[o] = best;
                }
            }
        }
    }

    /** The stage shapes, for log lines: e.g. {@code conv 1x28x28->20x24x24, maxpool ->20x12x12}. */
    String describe() {
        List<String> parts = new ArrayList<>();
        for (Stage s : stages) {
            parts.add((s.conv ? "conv " + s.inC + "x" + s.inH + "x" + s.inW + "->" : "maxpool ->") + s.outC + "x"
                    + s.outH + "x" + s.outW);
        }
        return String.join(", ", parts);
    }
}
