package org.distillery.model.nn;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * A frozen network seen as a function from features to raw logits (before softmax), whatever its output activation:
 * identity outputs are logits already; a softmax output layer's pre-activation is recomputed from its input; any other
 * output falls back to log(output), which softmax(./T) maps to the same distribution.
 */
public final class LogitModel {
    private final MultiLayerNetwork net;
    private final Kind kind;

    private enum Kind { IDENTITY, SOFTMAX_DENSE, LOG_OUTPUT }

    public LogitModel(MultiLayerNetwork net) {
        this.net = net;
        Layer out = net.getOutputLayer();
        var conf = out.conf().getLayer();
        if (conf instanceof BaseOutputLayer bol && bol.getActivationFn() instanceof ActivationIdentity) {
            kind = Kind.IDENTITY;
        } else if (conf instanceof BaseOutputLayer bol && bol.getActivationFn() instanceof ActivationSoftmax
                && out.getParam("W") != null) {
            kind = Kind.SOFTMAX_DENSE;
        } else {
            kind = Kind.LOG_OUTPUT;
        }
    }

    public MultiLayerNetwork network() {
        return net;
    }

    public int classes() {
        return (int) net.getOutputLayer().getParam("W").size(1);
    }

    /** Width of the flat feature rows the network reads. */
    public long inputs() {
        if (net.getLayerWiseConfigurations().getInputPreProcess(0) instanceof FeedForwardToCnnPreProcessor p) {
            return p.getInputHeight() * p.getInputWidth() * p.getNumChannels();
        }
        return net.getLayer(0).getParam("W").size(0);
    }

    /** Raw logits [N, C] for features [N, D]; inference mode (no dropout). */
    public INDArray logits(INDArray features) {
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
