package org.distillery.model.nn;

import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.OptimizationAlgorithm;
import org.deeplearning4j.nn.conf.BackpropType;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.dropout.IDropout;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.solvers.BaseOptimizer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.ILossFunction;

/**
 * One training step of a dense student, the step {@code MultiLayerNetwork.fit(DataSet)} takes, without DL4J's
 * per-layer forward and backward machinery. On the 784-64-10 student DL4J spends ~2.8 ms per 64-row minibatch where
 * PyTorch spends ~0.7 ms: its layers compute each pre-activation twice (forward, then again in backprop), allocate
 * every activation and gradient in workspaces, and go through many small native calls (docs/PERFORMANCE.md). Here each
 * layer is one {@code Nd4j.gemm} into a buffer kept across steps, the pre-activations are kept for backprop, and the
 * weight and bias gradients are written straight into the network's own flattened gradient view.
 *
 * <p>Everything that defines the step stays DL4J's: the output layer's {@link ILossFunction} gives the score and the
 * gradient at the logits (so any loss works, {@code DistillationLoss} and {@code CompositeLoss} included), each
 * hidden layer's {@link IActivation} its forward and backward, and the network's own updater (division by the
 * minibatch size, the updater rule, its state, learning-rate schedules) the update, applied as DL4J's SGD applies it
 * ({@code params -= update}); iteration count and score advance as after {@code fit}. So parameters and updater state
 * stay in DL4J's layout: checkpoints, parameter averaging and {@code fit} can take over at any step.
 *
 * <p>It covers networks of plain {@link DenseLayer}s ending in an {@link OutputLayer}, optionally after a front of
 * convolution and max-pooling layers ({@link ConvFront}: im2col and one gemm per convolution, so the demo's CNN teacher
 * trains here too): no weight noise, layer norm, regularization, constraints other than {@link BlockDiagonal},
 * gradient normalization, other preprocessors, frozen layers or listeners; standard backprop, SGD with minibatches, no
 * features mask. Plain {@link Dropout} on a dense layer's input is DL4J's own: the same op, mask and random draws as
 * {@code fit}. Anything else gets a reason from {@link #unsupported} and stays on {@code fit}.
 * {@code DenseTrainingStepTest} checks it takes DL4J's steps.
 *
 * <p>On float networks the element-wise parts run in plain Java over the arrays' memory ({@link DenseKernels}: bias
 * plus ReLU in one pass, ReLU's backprop, the bias gradients), and when the whole network has one {@link FastAdam}
 * updater block, the minibatch division, Adam and the SGD step are one pass too: ND4J spends tens of microseconds per
 * call on these small arrays (docs/PERFORMANCE.md). Which path a step takes is logged once per JVM.
 *
 * <p>Not thread-safe: one instance per network, as a network is fitted by one thread. It holds views of the network's
 * parameters and gradients, so it stays valid while the network keeps its parameter array.
 */
public final class DenseTrainingStep {
    private final MultiLayerNetwork net;
    private final INDArray[] weights;
    private final INDArray[] biases;
    private final INDArray[] weightGrads;
    private final INDArray[] biasGrads;
    private final IActivation[] activations;
    private final ILossFunction loss;
    private final IActivation outputActivation;
    private final long[] widths;
    private final Gradient gradient;
    /** The convolution and pooling layers before the first dense one, or null; {@code first} is that dense layer. */
    private final ConvFront front;
    private final int first;
    /** Per layer: the dropout DL4J applies to its input during training, or null. */
    private final IDropout[] dropouts;
    /** Per layer: bias and activation by {@link DenseKernels} (float, ReLU or identity), or by ND4J. */
    private final boolean[] javaBiasActivation;
    private final boolean fusedAdam;
    private final Path path;
    private Buffers buffers;

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DenseTrainingStep.class);
    private static final java.util.Set<String> LOGGED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Which parts of the step leave ND4J: all that can (the default), all but the updater, or none (references). */
    private enum Path { KERNELS_AND_FUSED_ADAM, KERNELS, ND4J }

    private DenseTrainingStep(MultiLayerNetwork net, Path path) {
        this.net = net;
        this.path = path;
        int n = net.getnLayers();
        weights = new INDArray[n];
        biases = new INDArray[n];
        weightGrads = new INDArray[n];
        biasGrads = new INDArray[n];
        activations = new IActivation[n];
        widths = new long[n];
        dropouts = new IDropout[n];
        if (net.getFlattenedGradients() == null) {
            net.initGradientsView(); // DL4J makes it on the first fit
        }
        gradient = new DefaultGradient(net.getFlattenedGradients());
        first = ConvFront.frontLayers(net);
        front = first == 0 ? null : ConvFront.of(net, false);
        if (front != null) {
            front.registerGradients(gradient);
        }
        for (int i = first; i < n; i++) {
            Layer layer = net.getLayer(i);
            weights[i] = layer.getParam(DefaultParamInitializer.WEIGHT_KEY);
            biases[i] = layer.getParam(DefaultParamInitializer.BIAS_KEY);
            Map<String, INDArray> grads = DefaultParamInitializer.getInstance()
                    .getGradientsFromFlattened(layer.conf(), layer.getGradientsViewArray());
            weightGrads[i] = grads.get(DefaultParamInitializer.WEIGHT_KEY);
            biasGrads[i] = grads.get(DefaultParamInitializer.BIAS_KEY);
            gradient.setGradientFor(i + "_" + DefaultParamInitializer.WEIGHT_KEY, weightGrads[i], 'f');
            gradient.setGradientFor(i + "_" + DefaultParamInitializer.BIAS_KEY, biasGrads[i]);
            activations[i] = ((BaseLayer) layer.conf().getLayer()).getActivationFn();
            dropouts[i] = layer.conf().getLayer().getIDropout();
            widths[i] = weights[i].size(1);
        }
        OutputLayer out = (OutputLayer) net.getLayer(n - 1).conf().getLayer();
        loss = out.getLossFn();
        outputActivation = out.getActivationFn();
        boolean floats = weights[first].dataType() == DataType.FLOAT;
        javaBiasActivation = new boolean[n];
        StringBuilder why = new StringBuilder();
        for (int i = first; i < n; i++) {
            javaBiasActivation[i] = path != Path.ND4J && floats
                    && (i == n - 1 || isPlainRelu(activations[i]) || activations[i] instanceof ActivationIdentity);
            if (!javaBiasActivation[i] && path != Path.ND4J && floats) {
                why.append("; layer ").append(i).append("'s activation ").append(activations[i]).append(" by ND4J");
            }
        }
        if (!floats && path != Path.ND4J) {
            why.append(" (not: ").append(weights[first].dataType()).append(" parameters, all by ND4J)");
        }
        String adam = path == Path.KERNELS_AND_FUSED_ADAM && floats ? fusedAdamUnsupported(net) : "not asked for";
        fusedAdam = adam == null;
        String message = "dense training step: " + (front == null ? "" : "convolutions by im2col and gemm ("
                + front.describe() + "); ") + (path == Path.ND4J ? "ND4J only"
                : "bias and activation in Java" + why) + "; updater " + (fusedAdam
                ? "fused (FastAdam, one pass with the SGD step)" : "DL4J's (" + adam + ")");
        if (LOGGED.add(message)) {
            LOG.info(message);
        }
    }

    private static boolean isPlainRelu(IActivation a) {
        return a instanceof ActivationReLU r && r.getMax() == null && (r.getThreshold() == null || r.getThreshold() == 0)
                && (r.getNegativeSlope() == null || r.getNegativeSlope() == 0);
    }

    /** Why the updater cannot be fused into one pass, or null: it must be one FastAdam block over all parameters. */
    private static String fusedAdamUnsupported(MultiLayerNetwork net) {
        if (!(net.getUpdater() instanceof BaseMultiLayerUpdater<?> u)) {
            return "a " + net.getUpdater().getClass().getSimpleName();
        }
        if (u.getUpdaterBlocks().size() != 1) {
            return u.getUpdaterBlocks().size() + " updater blocks";
        }
        UpdaterBlock block = u.getUpdaterBlocks().get(0);
        if (!(block.getGradientUpdater().getConfig() instanceof FastAdam)) {
            return block.getGradientUpdater().getConfig().getClass().getSimpleName();
        }
        long p = net.numParams();
        if (block.getParamOffsetStart() != 0 || block.getParamOffsetEnd() != p || block.getUpdaterViewOffsetStart() != 0
                || block.getUpdaterViewOffsetEnd() != 2 * p || u.getStateViewArray().length() != 2 * p) {
            return "an updater block that is not all parameters";
        }
        return null;
    }

    /** The step for {@code net}, or null when {@link #unsupported} names a reason to use {@code fit}. */
    public static DenseTrainingStep of(MultiLayerNetwork net) {
        return unsupported(net) == null ? new DenseTrainingStep(net, Path.KERNELS_AND_FUSED_ADAM) : null;
    }

    /** As {@link #of}, with DL4J's updater and SGD step instead of the fused Adam pass (a reference to measure). */
    public static DenseTrainingStep withDl4jUpdater(MultiLayerNetwork net) {
        return unsupported(net) == null ? new DenseTrainingStep(net, Path.KERNELS) : null;
    }

    /**
     * As {@link #of}, with every part of the step in ND4J and the loss's gradient and score as two calls (the step
     * before the Java parts: a reference to measure and test against).
     */
    public static DenseTrainingStep nd4jOnly(MultiLayerNetwork net) {
        return unsupported(net) == null ? new DenseTrainingStep(net, Path.ND4J) : null;
    }

    /** Why {@code net} is outside this step, or null when it is covered. */
    public static String unsupported(MultiLayerNetwork net) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        if (net.params() == null) {
            return "the network is not initialised";
        }
        if (conf.getBackpropType() != BackpropType.Standard) {
            return "backprop type is " + conf.getBackpropType();
        }
        if (net.getListeners() != null && !net.getListeners().isEmpty()) {
            return "the network has training listeners";
        }
        int last = net.getnLayers() - 1;
        int first = ConvFront.frontLayers(net);
        String front = ConvFront.unsupported(net, true);
        if (front != null) {
            return front;
        }
        for (int i = 0; i <= last; i++) {
            var c = net.getLayer(i).conf();
            if (c.getOptimizationAlgo() != OptimizationAlgorithm.STOCHASTIC_GRADIENT_DESCENT || !c.isMiniBatch()) {
                return "layer " + i + " is not trained by minibatch SGD";
            }
        }
        for (int i = first; i <= last; i++) {
            Layer layer = net.getLayer(i);
            var c = layer.conf();
            String reason = unsupportedLayer(i, i == first && first > 0, last, c.getLayer(), conf);
            if (reason != null) {
                return reason;
            }
            INDArray w = layer.getParam(DefaultParamInitializer.WEIGHT_KEY);
            INDArray b = layer.getParam(DefaultParamInitializer.BIAS_KEY);
            if (w == null || b == null || w.rank() != 2 || layer.numParams() != w.length() + b.length()) {
                return "layer " + i + " is not a weight matrix plus a bias";
            }
            if (w.dataType() != DataType.FLOAT && w.dataType() != DataType.DOUBLE) {
                return "layer " + i + " has " + w.dataType() + " parameters";
            }
        }
        return null;
    }

    private static String unsupportedLayer(int i, boolean afterFront, int last,
                                           org.deeplearning4j.nn.conf.layers.Layer layer, MultiLayerConfiguration conf) {
        Class<?> expected = i == last ? OutputLayer.class : DenseLayer.class;
        if (layer.getClass() != expected) {
            return "layer " + i + " is a " + layer.getClass().getSimpleName();
        }
        BaseLayer base = (BaseLayer) layer;
        if (conf.getInputPreProcess(i) != null && !afterFront) { // after a front: ConvFront checked its flattening
            return "layer " + i + " has an input preprocessor";
        }
        if (base.getIDropout() != null && base.getIDropout().getClass() != Dropout.class) {
            return "layer " + i + " has " + base.getIDropout().getClass().getSimpleName();
        }
        if (base.getWeightNoise() != null) {
            return "layer " + i + " has weight noise";
        }
        if (layer instanceof DenseLayer dense && dense.hasLayerNorm()) {
            return "layer " + i + " has layer norm";
        }
        if (!base.getRegularization().isEmpty() || !base.getRegularizationBias().isEmpty()) {
            return "layer " + i + " has regularization";
        }
        if (base.getConstraints() != null && !base.getConstraints().stream().allMatch(BlockDiagonal.class::isInstance)) {
            return "layer " + i + " has constraints other than peers' block-diagonal weights";
        }
        if (base.getGradientNormalization() != null && base.getGradientNormalization() != GradientNormalization.None) {
            return "layer " + i + " has gradient normalization " + base.getGradientNormalization();
        }
        return null;
    }

    /** One step on {@code data}, as {@code net.fit(data)}; the network's score is this minibatch's. */
    public void fit(DataSet data) {
        if (data.getFeaturesMaskArray() != null) {
            throw new IllegalArgumentException("a features mask needs MultiLayerNetwork.fit, got one of shape "
                    + java.util.Arrays.toString(data.getFeaturesMaskArray().shape()));
        }
        INDArray features = data.getFeatures();
        long n = features.size(0);
        long width = front != null ? front.inputs() : weights[first].size(0);
        if (features.rank() != 2 || features.size(1) != width) {
            throw new IllegalArgumentException("features must be [rows, " + width + "], got "
                    + java.util.Arrays.toString(features.shape()));
        }
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            int last = weights.length - 1;
            int iteration = net.getIterationCount();
            int epoch = net.getEpochCount();
            Buffers b = buffers(n);
            // forward: z_i = a_{i-1} W_i + b_i, a_i = f_i(z_i); z_i is kept for backprop
            INDArray in = features.dataType() == weights[first].dataType() ? features
                    : features.castTo(weights[first].dataType());
            if (front != null) {
                in = front.forward(b.frontWork, in);
            }
            INDArray[] inputs = new INDArray[last + 1];
            for (int i = first; i <= last; i++) {
                if (dropouts[i] != null) { // DL4J's own dropout op and mask, drawn as fit draws them
                    INDArray dropped = b.rows(b.dropped, i, n);
                    dropouts[i].applyDropout(in, dropped, iteration, epoch, LayerWorkspaceMgr.noWorkspaces());
                    in = dropped;
                }
                inputs[i] = in;
                INDArray z = b.rows(b.pre, i, n);
                Nd4j.gemm(in, weights[i], z, false, false, 1.0, 0.0);
                if (javaBiasActivation[i]) {
                    INDArray a = i < last && isPlainRelu(activations[i]) ? b.rows(b.act, i, n) : null;
                    DenseKernels.biasRelu(z, biases[i], a, n, widths[i]);
                    if (i < last) {
                        in = a != null ? a : z; // identity: the activation is z itself
                    }
                    continue;
                }
                z.addiRowVector(biases[i]);
                if (i < last) {
                    INDArray a = b.rows(b.act, i, n);
                    a.assign(z);
                    INDArray out = activations[i].getActivation(a, true);
                    in = out == a ? a : a.assign(out);
                }
            }
            INDArray labels = data.getLabels();
            INDArray mask = data.getLabelsMaskArray();
            INDArray logits = b.rows(b.pre, last, n);
            // the output layer, as DL4J's BaseOutputLayer: gradient first, then the score (per example, / n); the
            // gradient gets a copy of the logits, as DL4J gives each its own pre-output, so no loss can alter the other's
            INDArray delta;
            double score;
            // DistillationLoss only reads the logits: gradient and score from one pass, without the copy
            if (path != Path.ND4J && loss instanceof org.distillery.model.loss.DistillationLoss) {
                var both = loss.computeGradientAndScore(labels, logits, outputActivation, mask, false);
                delta = both.getSecond();
                score = both.getFirst() / n;
            } else {
                delta = loss.computeGradient(labels, logits.dup(), outputActivation, mask);
                score = loss.computeScore(labels, logits, outputActivation, mask, false) / n;
            }
            for (int i = last; i >= first; i--) {
                Nd4j.gemm(inputs[i], delta, weightGrads[i], true, false, 1.0, 0.0);
                if (javaBiasActivation[i] && delta.ordering() == 'c' && delta.elementWiseStride() == 1) {
                    DenseKernels.columnSums(delta, biasGrads[i], n, widths[i]);
                } else {
                    delta.sum(biasGrads[i], 0);
                }
                if (i == first && front != null) {
                    INDArray eps = b.rows(b.frontEps, 0, n);
                    Nd4j.gemm(delta, weights[i], eps, false, true, 1.0, 0.0);
                    if (dropouts[i] != null) {
                        dropouts[i].backprop(eps, eps, iteration, epoch);
                    }
                    front.backward(b.frontWork, eps);
                } else if (i > first) {
                    INDArray eps = b.rows(b.eps, i - 1, n);
                    Nd4j.gemm(delta, weights[i], eps, false, true, 1.0, 0.0);
                    if (dropouts[i] != null) {
                        dropouts[i].backprop(eps, eps, iteration, epoch);
                    }
                    if (javaBiasActivation[i - 1]) {
                        if (isPlainRelu(activations[i - 1])) {
                            DenseKernels.reluBackprop(b.rows(b.pre, i - 1, n), eps, n, widths[i - 1]);
                        }
                        delta = eps;
                        continue;
                    }
                    // d/dz of the activation, in place on z_{i-1} (DL4J's contract for backprop's input)
                    delta = activations[i - 1].backprop(b.rows(b.pre, i - 1, n), eps).getFirst();
                }
            }
            if (fusedAdam && net.getUpdater() instanceof BaseMultiLayerUpdater<?> u && u.getUpdaterBlocks().size() == 1
                    && u.getUpdaterBlocks().get(0).getGradientUpdater().getConfig() instanceof FastAdam adam) {
                // the FastAdam instance DL4J's updater would apply, so its learning rate as set on the network
                double b1 = adam.getBeta1();
                double b2 = adam.getBeta2();
                double alphat = adam.getLearningRate() * Math.sqrt(1 - Math.pow(b2, iteration + 1))
                        / (1 - Math.pow(b1, iteration + 1));
                if (Double.isNaN(alphat) || alphat == 0.0) {
                    alphat = adam.getEpsilon(); // as DL4J's Adam
                }
                DenseKernels.adam(net.params(), net.getFlattenedGradients(), u.getStateViewArray(), net.numParams(),
                        n, b1, b2, (float) alphat, (float) adam.getEpsilon(), FastAdam.flushes(iteration));
            } else {
                net.getUpdater().update(net, gradient, iteration, epoch, (int) n, LayerWorkspaceMgr.noWorkspaces());
                INDArray params = net.params();
                params.subi(net.getFlattenedGradients().reshape(params.shape())); // DL4J's SGD step: params -= update
            }
            net.applyConstraints(iteration, epoch); // as DL4J's SGD after its step (peers' block-diagonal weights)
            net.setScore(score);
            BaseOptimizer.incrementIterationCount(net, 1);
            for (Layer layer : net.getLayers()) { // as fit's synchronizeIterEpochCounts
                layer.setIterationCount(iteration + 1);
                layer.setEpochCount(epoch);
            }
        }
    }

    private Buffers buffers(long rows) {
        if (buffers == null || buffers.capacity < rows) {
            buffers = new Buffers(Math.max(rows, buffers == null ? 0 : buffers.capacity));
        }
        return buffers;
    }

    /** Row-major pre-activation, activation and back-propagated error buffers per layer, for up to capacity rows. */
    private final class Buffers {
        final long capacity;
        final INDArray[] pre;
        final INDArray[] act;
        final INDArray[] eps;
        /** Per layer with dropout: its input after dropout. */
        final INDArray[] dropped;
        /** With a convolution front: the error at its flattened output, and its own buffers. */
        final INDArray[] frontEps;
        final ConvFront.Work frontWork;

        Buffers(long capacity) {
            this.capacity = capacity;
            int n = widths.length;
            pre = new INDArray[n];
            act = new INDArray[n];
            eps = new INDArray[n];
            dropped = new INDArray[n];
            frontEps = new INDArray[1];
            DataType type = weights[first].dataType();
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                for (int i = first; i < n; i++) {
                    pre[i] = Nd4j.createUninitialized(type, new long[] {capacity, widths[i]}, 'c');
                    if (i < n - 1) {
                        act[i] = Nd4j.createUninitialized(type, new long[] {capacity, widths[i]}, 'c');
                        eps[i] = Nd4j.createUninitialized(type, new long[] {capacity, widths[i]}, 'c');
                    }
                    if (dropouts[i] != null) {
                        dropped[i] = Nd4j.createUninitialized(type, new long[] {capacity, weights[i].size(0)}, 'c');
                    }
                }
                if (front != null) {
                    frontEps[0] = Nd4j.createUninitialized(type, new long[] {capacity, front.outputs()}, 'c');
                }
            }
            frontWork = front == null ? null : front.work(capacity);
        }

        /** The first {@code n} rows of buffer {@code layer}: a contiguous view, as {@code Nd4j.gemm} needs. */
        INDArray rows(INDArray[] kind, int layer, long n) {
            return n == capacity ? kind[layer] : kind[layer].get(NDArrayIndex.interval(0, n), NDArrayIndex.all());
        }
    }
}
