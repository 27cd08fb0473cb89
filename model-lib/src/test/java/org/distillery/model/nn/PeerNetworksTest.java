package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.loss.MutualLoss;
import org.distillery.model.loss.TargetLayout;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class PeerNetworksTest {
    private static final int FEATURES = 12;
    private static final int CLASSES = 3;
    private static final List<Architecture> ARCHS = List.of(Architecture.parse("mlp:8,6", 0),
            Architecture.parse("mlp:5,4", 0));

    /** Minibatches with hard labels on two rows of three, none on the rest. */
    private static List<DataSet> batches(int count) {
        Random rng = new Random(5);
        List<DataSet> out = new ArrayList<>();
        for (int b = 0; b < count; b++) {
            int n = 10;
            float[] x = new float[n * FEATURES];
            float[] y = new float[n * TargetLayout.width(CLASSES)];
            for (int i = 0; i < n; i++) {
                double s = 0;
                for (int j = 0; j < FEATURES; j++) {
                    x[i * FEATURES + j] = rng.nextFloat();
                    s += x[i * FEATURES + j] * (j % 3 - 1);
                }
                if (i % 3 != 2) {
                    y[i * 2 * CLASSES + CLASSES + (s > 0.3 ? 0 : s < -0.3 ? 1 : 2)] = 1;
                }
            }
            out.add(new DataSet(Nd4j.create(x, new long[] {n, FEATURES}, DataType.FLOAT),
                    Nd4j.create(y, new long[] {n, TargetLayout.width(CLASSES)}, DataType.FLOAT)));
        }
        return out;
    }

    private static MultiLayerNetwork joint() {
        return PeerNetworks.build(ARCHS, FEATURES, CLASSES, new MutualLoss(2, 2.0, 0.5), 0.01, 3);
    }

    /** Off-diagonal blocks of every weight matrix after the input layer, which must all be zero. */
    private static double offDiagonalMax(MultiLayerNetwork net) {
        double max = 0;
        for (int i = 1; i < net.getnLayers(); i++) {
            int[] rows = PeerNetworks.starts(ARCHS, i - 1, CLASSES);
            int[] cols = PeerNetworks.starts(ARCHS, i, CLASSES);
            INDArray w = net.getLayer(i).getParam("W");
            max = Math.max(max, w.get(NDArrayIndex.interval(rows[0], rows[1]), NDArrayIndex.interval(cols[1], cols[2]))
                    .amaxNumber().doubleValue());
            max = Math.max(max, w.get(NDArrayIndex.interval(rows[1], rows[2]), NDArrayIndex.interval(cols[0], cols[1]))
                    .amaxNumber().doubleValue());
        }
        return max;
    }

    @Test
    void startsAsEachStudentAloneAndCutsBackOutToThem() {
        MultiLayerNetwork joint = joint();
        INDArray x = batches(1).get(0).getFeatures();
        List<INDArray> split = PeerNetworks.split(joint.output(x), 2);
        for (int k = 0; k < 2; k++) {
            MultiLayerNetwork alone = ARCHS.get(k).build(FEATURES, CLASSES,
                    org.distillery.model.loss.DistillationLoss.hardLabelsOnly(), 0.01, 3 + k);
            assertThat(split.get(k).equalsWithEps(alone.output(x), 1e-5)).as("student %s at init", k).isTrue();
        }
        assertThat(offDiagonalMax(joint)).isZero();
    }

    /**
     * DL4J's fit and the dense step both keep the students apart (off-diagonal weights zero after every step), take
     * the same steps, and each student cut out computes what its block of the joint network computes.
     */
    @Test
    void trainingKeepsStudentsApartWithEitherStep() {
        MultiLayerNetwork fit = joint();
        MultiLayerNetwork dense = fit.clone();
        assertThat(DenseTrainingStep.unsupported(dense)).isNull();
        DenseTrainingStep step = DenseTrainingStep.of(dense);
        for (DataSet b : batches(6)) {
            fit.fit(b);
            step.fit(b);
        }
        assertThat(offDiagonalMax(fit)).isZero();
        assertThat(offDiagonalMax(dense)).isZero();
        assertThat(dense.params().equalsWithEps(fit.params(), 1e-5)).isTrue();
        assertThat(fit.params().equalsWithEps(joint().params(), 1e-3)).as("training moved the parameters").isFalse();
        INDArray x = batches(1).get(0).getFeatures();
        List<INDArray> split = PeerNetworks.split(fit.output(x), 2);
        for (int k = 0; k < 2; k++) {
            MultiLayerNetwork student = PeerNetworks.student(fit, ARCHS, k, FEATURES, CLASSES, 0.01, 3);
            assertThat(student.output(x).equalsWithEps(split.get(k), 1e-5)).as("student %s", k).isTrue();
        }
    }

    @Test
    void configurationSurvivesJson() {
        MultiLayerConfiguration conf = joint().getLayerWiseConfigurations();
        MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(conf.toJson());
        assertThat(back).isEqualTo(conf);
        MultiLayerNetwork net = new MultiLayerNetwork(back);
        net.init();
        net.fit(batches(1).get(0));
        assertThat(offDiagonalMax(net)).isZero();
    }

    @Test
    void refusesCnnsAndPeersOfDifferentDepths() {
        assertThat(PeerNetworks.unsupported(List.of(Architecture.parse("mlp:8", 0), Architecture.parse("mlp:8,8", 0))))
                .contains("same number of hidden layers");
        assertThat(PeerNetworks.unsupported(List.of(Architecture.parse("cnn:4:8", 0), Architecture.parse("mlp:8", 0))))
                .contains("mlp students");
        assertThatThrownBy(() -> PeerNetworks.build(ARCHS, FEATURES, CLASSES, new MutualLoss(3, 1, 0.5), 0.01, 1))
                .hasMessageContaining("2 architectures for 3 peers");
    }
}
