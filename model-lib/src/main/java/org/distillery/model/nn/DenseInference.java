package org.distillery.model.nn;

import java.util.Set;
import java.util.concurrent.ConcurrentLinkedDeque;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationCube;
import org.nd4j.linalg.activations.impl.ActivationELU;
import org.nd4j.linalg.activations.impl.ActivationGELU;
import org.nd4j.linalg.activations.impl.ActivationHardSigmoid;
import org.nd4j.linalg.activations.impl.ActivationHardTanH;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationMish;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU6;
import org.nd4j.linalg.activations.impl.ActivationRationalTanh;
import org.nd4j.linalg.activations.impl.ActivationRectifiedTanh;
import org.nd4j.linalg.activations.impl.ActivationSELU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftPlus;
import org.nd4j.linalg.activations.impl.ActivationSoftSign;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.activations.impl.ActivationSwish;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Logits of a frozen float32 MLP without DL4J's forward pass: per layer one {@code Nd4j.gemm} into a preallocated
 * row-major buffer, {@code addiRowVector(b)} and the activation in place. DL4J's dense layers multiply into a
 * column-major result (a temporary and a transposing copy per layer), which held {@code output()} at about 0.77x
 * PyTorch on the 784-1200-1200-10 teacher where a gemm chain like this one measured 1.04-1.09x; the label benchmark
 * measures this class (docs/PERFORMANCE.md, "Label job benchmark").
 *
 * <p>It covers networks of plain {@link DenseLayer}s with element-wise activations ({@link #HIDDEN}) ending in an
 * {@link OutputLayer} or {@link DenseLayer} with identity or softmax activation, whose pre-activation it returns (the
 * logits, as {@link LogitModel} defines them), optionally after a front of convolution and max-pooling layers
 * ({@link ConvFront}: im2col and one gemm per convolution; the demo's CNN teacher); no other preprocessors, weight
 * noise or layer norm; float32 parameters.
 * Dropout is ignored, as in DL4J's inference. Anything else gets {@code null} from {@link #of} and stays on
 * {@code output()}.
 *
 * <p>The weights are copied once, at construction: later changes to the network are not seen. Thread-safe: each call
 * leases a set of activation buffers from a pool (one set per concurrently calling thread, re-used across calls,
 * replaced by a larger one when a bigger batch arrives; smaller batches use row views of it), so nothing lives in
 * thread-locals of long-lived executor threads after the model is gone.
 */
final class DenseInference {
    /** Element-wise activations, applied in place by DL4J's own implementation (identical results). */
    static final Set<Class<? extends IActivation>> HIDDEN = Set.of(ActivationIdentity.class, ActivationReLU.class,
            ActivationReLU6.class, ActivationLReLU.class, ActivationTanH.class, ActivationSigmoid.class,
            ActivationHardTanH.class, ActivationHardSigmoid.class, ActivationELU.class, ActivationSELU.class,
            ActivationSoftPlus.class, ActivationSoftSign.class, ActivationSwish.class, ActivationGELU.class,
            ActivationMish.class, ActivationRationalTanh.class, ActivationRectifiedTanh.class, ActivationCube.class);
    private static final Set<Class<? extends IActivation>> OUTPUT = Set.of(ActivationIdentity.class,
            ActivationSoftmax.class);

    private final INDArray[] weights;
    private final INDArray[] biases;
    private final IActivation[] activations;
    private final long[] widths;
    /** The convolution and pooling layers before the first dense one, or null; {@code first} is that dense layer. */
    private final ConvFront front;
    private final int first;
    private final ConcurrentLinkedDeque<Buffers> idle = new ConcurrentLinkedDeque<>();

    private DenseInference(MultiLayerNetwork net) {
        int n = net.getnLayers();
        weights = new INDArray[n];
        biases = new INDArray[n];
        activations = new IActivation[n];
        widths = new long[n];
        first = ConvFront.frontLayers(net);
        front = first == 0 ? null : ConvFront.of(net, true);
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            for (int i = first; i < n; i++) {
                Layer layer = net.getLayer(i);
                INDArray w = layer.getParam("W");
                INDArray b = layer.getParam("b");
                weights[i] = w.dup(w.ordering());
                biases[i] = b == null ? null : b.dup().reshape(1, w.size(1));
                activations[i] = i == n - 1 ? null : ((BaseLayer) layer.conf().getLayer()).getActivationFn();
                widths[i] = w.size(1);
            }
        }
    }

    /** The fast path for {@code net}, or null when {@link #unsupported} names a reason to use {@code output()}. */
    static DenseInference of(MultiLayerNetwork net) {
        return unsupported(net) == null ? new DenseInference(net) : null;
    }

    /** Why {@code net} is outside the fast path, or null when it is covered. */
    static String unsupported(MultiLayerNetwork net) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        int last = net.getnLayers() - 1;
        int first = ConvFront.frontLayers(net);
        String front = ConvFront.unsupported(net, false);
        if (front != null) {
            return front;
        }
        for (int i = first; i <= last; i++) {
            var layer = net.getLayer(i).conf().getLayer();
            boolean dense = layer.getClass() == DenseLayer.class;
            if (!(dense || i == last && layer.getClass() == OutputLayer.class)) {
                return "layer " + i + " is a " + layer.getClass().getSimpleName();
            }
            if (conf.getInputPreProcess(i) != null && !(i == first && first > 0)) { // ConvFront checked its own
                return "layer " + i + " has an input preprocessor";
            }
            BaseLayer base = (BaseLayer) layer;
            if (base.getWeightNoise() != null) {
                return "layer " + i + " has weight noise";
            }
            if (dense && ((DenseLayer) layer).hasLayerNorm()) {
                return "layer " + i + " has layer norm";
            }
            if (!(i == last ? OUTPUT : HIDDEN).contains(base.getActivationFn().getClass())) {
                return "layer " + i + " has activation " + base.getActivationFn();
            }
            INDArray w = net.getLayer(i).getParam("W");
            if (w == null || w.rank() != 2 || w.dataType() != DataType.FLOAT) {
                return "layer " + i + " has no float32 weight matrix";
            }
        }
        return null;
    }

    long inputs() {
        return front != null ? front.inputs() : weights[first].size(0);
    }

    /** The first layer this class computes as a dense layer (0, or the first after a convolution front). */
    int firstDense() {
        return first;
    }

    /** Pre-activation of the last layer, [N, classes], for features [N, inputs]; a new array the caller owns. */
    INDArray logits(INDArray features) {
        return forward(features, -1)[0];
    }

    /**
     * The logits and, from the same pass, the activations of dense hidden layer {@code layer} (0-based in the
     * network, from {@link #firstDense} to before the last), [N, width]: new arrays the caller owns. They equal
     * DL4J's {@code feedForwardToLayer(layer, x).get(layer + 1)}, whose layers compute the same gemm, bias and
     * activation.
     */
    INDArray[] logitsAndLayer(INDArray features, int layer) {
        if (layer < first || layer >= weights.length - 1) {
            throw new IllegalArgumentException("layer " + layer + " is not a dense hidden layer (" + first + " to "
                    + (weights.length - 2) + ")");
        }
        return forward(features, layer);
    }

    /** {logits} or, with {@code keep} >= 0, {logits, activations of layer keep}. */
    private INDArray[] forward(INDArray features, int keep) {
        if (features.rank() != 2 || features.size(1) != inputs()) {
            throw new IllegalArgumentException("features must be [rows, " + inputs() + "], got "
                    + java.util.Arrays.toString(features.shape()));
        }
        long n = features.size(0);
        if (n == 0) {
            INDArray none = Nd4j.create(DataType.FLOAT, 0, widths[widths.length - 1]);
            return keep < 0 ? new INDArray[] {none}
                    : new INDArray[] {none, Nd4j.create(DataType.FLOAT, 0, widths[keep])};
        }
        Buffers buffers = lease(n);
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            INDArray in = features.dataType() == DataType.FLOAT ? features : features.castTo(DataType.FLOAT);
            if (front != null) {
                in = front.forward(buffers.frontWork, in);
            }
            INDArray kept = null;
            for (int i = first; i < weights.length; i++) {
                INDArray out = buffers.rows(i, n);
                Nd4j.gemm(in, weights[i], out, false, false, 1.0, 0.0);
                if (biases[i] != null) {
                    out.addiRowVector(biases[i]);
                }
                if (activations[i] != null) {
                    INDArray a = activations[i].getActivation(out, false); // in place by IActivation's contract
                    if (a != out) {
                        out.assign(a);
                    }
                }
                if (i == keep) {
                    kept = out.dup('c');
                }
                in = out;
            }
            return keep < 0 ? new INDArray[] {in.dup('c')} : new INDArray[] {in.dup('c'), kept};
        } finally {
            idle.push(buffers);
        }
    }

    private Buffers lease(long rows) {
        Buffers b = idle.poll();
        return b != null && b.capacity >= rows ? b : new Buffers(rows); // a too-small set is dropped (GC frees it)
    }

    /** One row-major activation buffer per layer, for up to {@code capacity} rows. */
    private final class Buffers {
        final long capacity;
        final INDArray[] full;
        final ConvFront.Work frontWork;

        Buffers(long capacity) {
            this.capacity = capacity;
            full = new INDArray[widths.length];
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                for (int i = first; i < widths.length; i++) {
                    full[i] = Nd4j.createUninitialized(DataType.FLOAT, new long[] {capacity, widths[i]}, 'c');
                }
            }
            frontWork = front == null ? null : front.work(capacity);
        }

        /** The first {@code n} rows: a contiguous view, as {@code Nd4j.gemm} needs for its result. */
        INDArray rows(int layer, long n) {
            return n == capacity ? full[layer]
                    : full[layer].get(NDArrayIndex.interval(0, n), NDArrayIndex.all());
        }
    }
}
