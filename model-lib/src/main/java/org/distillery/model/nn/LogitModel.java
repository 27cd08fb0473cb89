package org.distillery.model.nn;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * A frozen network seen as a function from features to raw logits (before softmax), whatever its output activation:
 * identity outputs are logits already; a softmax output layer's pre-activation is recomputed from its input; any other
 * output falls back to log(output), which softmax(./T) maps to the same distribution. A final {@link DenseLayer} counts
 * as an output layer here.
 *
 * <p>Frozen MLPs (dense layers, element-wise activations, identity or softmax output, float32), also after a front of
 * plain convolutions and max pooling (LeNet-style CNNs), take a fast path, {@link DenseInference}, with DL4J's forward
 * pass's logits up to rounding (other BLAS calls and summation orders: the last bits differ) without its per-layer
 * copies; other networks (batch norm, padding, average pooling, ...) use DL4J's {@code output()}. The fast path copies the weights when
 * the model is built: build a new LogitModel after changing the network's parameters. {@link #logits} is thread-safe
 * on the fast path only; give each thread its own model (and network clone) otherwise, as the label job's
 * TeacherCache does.
 */
public final class LogitModel implements LogitFunction {
    private final MultiLayerNetwork net;
    private final Kind kind;
    private final DenseInference fast; // null: DL4J's forward pass

    private enum Kind { IDENTITY, SOFTMAX_DENSE, LOG_OUTPUT }

    public LogitModel(MultiLayerNetwork net) {
        this.net = net;
        Layer out = net.getOutputLayer();
        var conf = out.conf().getLayer();
        boolean outputLayer = conf instanceof BaseOutputLayer || conf.getClass() == DenseLayer.class;
        var activation = outputLayer ? ((org.deeplearning4j.nn.conf.layers.BaseLayer) conf).getActivationFn() : null;
        if (activation instanceof ActivationIdentity) {
            kind = Kind.IDENTITY;
        } else if (activation instanceof ActivationSoftmax && out.getParam("W") != null) {
            kind = Kind.SOFTMAX_DENSE;
        } else {
            kind = Kind.LOG_OUTPUT;
        }
        fast = kind == Kind.LOG_OUTPUT ? null : DenseInference.of(net);
    }

    /** Whether {@link #logits} takes the fast dense path rather than DL4J's forward pass. */
    public boolean fastPath() {
        return fast != null;
    }

    /** Thread-safe on the fast path only. */
    @Override
    public boolean threadSafe() {
        return fastPath();
    }

    @Override
    public String describe() {
        return fastPath() ? "fast dense path (gemm chain)" : "DL4J output() (" + fallbackReason() + ")";
    }

    /** Why {@link #logits} uses DL4J's forward pass ("" on the fast path), for logs. */
    public String fallbackReason() {
        if (fast != null) {
            return "";
        }
        return kind == Kind.LOG_OUTPUT ? "output activation is not identity or softmax"
                : DenseInference.unsupported(net);
    }

    public MultiLayerNetwork network() {
        return net;
    }

    @Override
    public int classes() {
        return (int) net.getOutputLayer().getParam("W").size(1);
    }

    /** Width of the flat feature rows the network reads. */
    @Override
    public long inputs() {
        if (net.getLayerWiseConfigurations().getInputPreProcess(0) instanceof FeedForwardToCnnPreProcessor p) {
            return p.getInputHeight() * p.getInputWidth() * p.getNumChannels();
        }
        return net.getLayer(0).getParam("W").size(0);
    }

    /** The example shape the network reads, batch axis aside: {@code [C, H, W]} for a CNN, else {@code [inputs]}. */
    long[] inputShape() {
        if (net.getLayerWiseConfigurations().getInputPreProcess(0) instanceof FeedForwardToCnnPreProcessor p) {
            return new long[] {p.getNumChannels(), p.getInputHeight(), p.getInputWidth()};
        }
        return new long[] {inputs()};
    }

    /**
     * Width of layer {@code layer}'s activations (0-based), found by running one row of zeros through the network.
     *
     * @throws IllegalArgumentException when the network has no such layer
     */
    public int layerWidth(int layer) {
        if (layer < 0 || layer >= net.getnLayers()) {
            throw new IllegalArgumentException("hint layer " + layer + " out of range: the teacher has layers 0 to "
                    + (net.getnLayers() - 1));
        }
        return (int) activations(org.nd4j.linalg.factory.Nd4j.zeros(net.params().dataType(), 1, inputs()), layer)
                .length();
    }

    /**
     * Activations of layer {@code layer} (0-based) for features [N, D], flattened to [N, width]; inference mode. Not
     * thread-safe (DL4J's forward pass): give each thread its own network clone.
     */
    public INDArray activations(INDArray features, int layer) {
        INDArray a = net.feedForwardToLayer(layer, features, false).get(layer + 1);
        return a.reshape(a.size(0), a.length() / a.size(0));
    }

    /**
     * {@link #logits} and {@link #activations} of {@code layer} for the same features: one pass of the fast path when
     * the layer is a hidden layer of a network on it, else both DL4J's. Thread-safety as {@link #activations}.
     */
    public INDArray[] logitsAndActivations(INDArray features, int layer) {
        if (fast != null && layer >= fast.firstDense() && layer < net.getnLayers() - 1) {
            return fast.logitsAndLayer(features, layer);
        }
        return new INDArray[] {logits(features), activations(features, layer)};
    }

    /** Raw logits [N, C] for features [N, D]; inference mode (no dropout). */
    @Override
    public INDArray logits(INDArray features) {
        if (fast != null) {
            return fast.logits(features);
        }
        return switch (kind) {
            case IDENTITY -> net.output(features, false);
            case SOFTMAX_DENSE -> {
                int last = net.getnLayers() - 1;
                INDArray in = last == 0 ? features : net.feedForwardToLayer(last - 1, features, false).get(last);
                Layer out = net.getOutputLayer();
                yield in.castTo(out.getParam("W").dataType()).mmul(out.getParam("W")).addiRowVector(out.getParam("b"));
            }
            case LOG_OUTPUT -> Transforms.log(Transforms.max(net.output(features, false), 1e-30f, false), false);
        };
    }
}
