package org.distillery.model.nn;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.loss.MutualLoss;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * K MLP students side by side in one {@link MultiLayerNetwork}, for deep mutual learning: every layer is the
 * concatenation of the students' layers (widths summed), the first reads the shared input, each later weight matrix is
 * kept block-diagonal by {@link BlockDiagonal} (no weight between two students' units), and the output holds the K
 * students' logits one after another, trained by {@link MutualLoss}. So one network, one parameter vector and one
 * updater state carry all K students, and the parameter-averaging engine, its worker step and its checkpoints train
 * them without knowing there are several.
 *
 * <p>Student k starts from the parameters its architecture would get on its own with seed {@code seed + k}
 * ({@link Architecture#build}); {@link #student} cuts it out again as its own network. The off-diagonal blocks cost
 * compute (K^2 instead of K blocks per hidden-to-hidden layer), which for the small dense students this serves is less
 * than the input layer's, shared by all.
 */
public final class PeerNetworks {
    private PeerNetworks() {
    }

    /** Why these architectures cannot train side by side, or null when they can. */
    public static String unsupported(List<Architecture> archs) {
        for (Architecture a : archs) {
            if (!a.conv().isEmpty()) {
                return "mutual learning trains mlp students, got " + a.spec();
            }
        }
        int depth = archs.get(0).hidden().size();
        for (Architecture a : archs) {
            if (a.hidden().size() != depth) {
                return "mutual learning needs peers with the same number of hidden layers, got " + archs.stream()
                        .map(Architecture::spec).toList();
            }
        }
        return null;
    }

    /** The K students side by side, each initialised as {@code archs.get(k).build(..., seed + k)} would be. */
    public static MultiLayerNetwork build(List<Architecture> archs, int inputs, int classes, MutualLoss loss,
                                          double learningRate, long seed) {
        String reason = unsupported(archs);
        if (reason != null) {
            throw new IllegalArgumentException(reason);
        }
        if (archs.size() != loss.getPeers()) {
            throw new IllegalArgumentException(archs.size() + " architectures for " + loss.getPeers() + " peers");
        }
        int depth = archs.get(0).hidden().size();
        double dropout = archs.get(0).dropout();
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(new FastAdam(learningRate))
                .weightInit(WeightInit.RELU)
                .list();
        for (int i = 0; i <= depth; i++) {
            int[] cols = starts(archs, i, classes);
            DenseLayer.Builder dense = new DenseLayer.Builder();
            OutputLayer.Builder out = new OutputLayer.Builder(loss);
            org.deeplearning4j.nn.conf.layers.BaseLayer.Builder<?> layer = i < depth
                    ? dense.nOut(cols[cols.length - 1]).activation(Activation.RELU)
                    : out.nOut(cols[cols.length - 1]).activation(Activation.IDENTITY).weightInit(WeightInit.XAVIER);
            if (i > 0) {
                layer.constrainWeights(new BlockDiagonal(starts(archs, i - 1, classes), cols));
                if (dropout > 0) {
                    layer.dropOut(1 - dropout);
                }
            }
            list.layer(i < depth ? dense.build() : out.build());
        }
        MultiLayerNetwork joint = new MultiLayerNetwork(list.setInputType(InputType.feedForward(inputs)).build());
        joint.init();
        for (int k = 0; k < archs.size(); k++) {
            MultiLayerNetwork alone = alone(archs.get(k), inputs, classes, learningRate, seed + k);
            copy(alone, joint, archs, k, classes, true);
        }
        return joint;
    }

    /** Student k of {@code joint} as its own network (trained by cross-entropy should it be fitted further). */
    public static MultiLayerNetwork student(MultiLayerNetwork joint, List<Architecture> archs, int k, int inputs,
                                            int classes, double learningRate, long seed) {
        MultiLayerNetwork alone = alone(archs.get(k), inputs, classes, learningRate, seed + k);
        copy(alone, joint, archs, k, classes, false);
        return alone;
    }

    private static MultiLayerNetwork alone(Architecture arch, int inputs, int classes, double learningRate, long seed) {
        return arch.build(inputs, classes, DistillationLoss.hardLabelsOnly(), learningRate, seed);
    }

    /** Copies student k's weights and biases between its own network and its blocks of the joint one. */
    private static void copy(MultiLayerNetwork alone, MultiLayerNetwork joint, List<Architecture> archs, int k,
                             int classes, boolean intoJoint) {
        for (int i = 0; i < joint.getnLayers(); i++) {
            int[] cols = starts(archs, i, classes);
            INDArrayIndex rows = i == 0 ? NDArrayIndex.all() : range(starts(archs, i - 1, classes), k);
            INDArray w = joint.getLayer(i).getParam("W").get(rows, range(cols, k));
            INDArray b = joint.getLayer(i).getParam("b").get(NDArrayIndex.all(), range(cols, k));
            if (intoJoint) {
                w.assign(alone.getLayer(i).getParam("W"));
                b.assign(alone.getLayer(i).getParam("b"));
            } else {
                alone.getLayer(i).setParam("W", w.dup());
                alone.getLayer(i).setParam("b", b.dup());
            }
        }
        if (intoJoint) {
            for (int i = 1; i < joint.getnLayers(); i++) {
                new BlockDiagonal(starts(archs, i - 1, classes), starts(archs, i, classes))
                        .zeroOffDiagonal(joint.getLayer(i).getParam("W"));
            }
        }
    }

    private static INDArrayIndex range(int[] starts, int k) {
        return NDArrayIndex.interval(starts[k], starts[k + 1]);
    }

    /** Offsets of the peers' units in layer i (the hidden layers, then the output of {@code classes} each). */
    static int[] starts(List<Architecture> archs, int layer, int classes) {
        int[] s = new int[archs.size() + 1];
        for (int k = 0; k < archs.size(); k++) {
            List<Integer> hidden = archs.get(k).hidden();
            s[k + 1] = s[k] + (layer < hidden.size() ? hidden.get(layer) : classes);
        }
        return s;
    }

    /** The logits of every student, [N, C] each, from the joint network's output [N, K*C]. */
    public static List<INDArray> split(INDArray jointLogits, int peers) {
        long c = jointLogits.size(1) / peers;
        List<INDArray> out = new ArrayList<>();
        for (int k = 0; k < peers; k++) {
            out.add(jointLogits.get(NDArrayIndex.all(), NDArrayIndex.interval(k * c, (k + 1) * c)).dup());
        }
        return out;
    }
}
