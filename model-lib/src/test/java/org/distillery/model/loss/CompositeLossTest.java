package org.distillery.model.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.ops.transforms.Transforms;

class CompositeLossTest {
    private static final int N = 6;
    private static final int C = 4;
    private static final int G = 5;

    /** [p | y | g]: a random teacher distribution, hard labels on some rows, a random teacher layer. */
    private static INDArray labels(long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray p = Transforms.softmax(Nd4j.randn(DataType.DOUBLE, N, C), false);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, N, C);
        int[] hard = {0, -1, 2, 3, -1, 1};
        for (int i = 0; i < N; i++) {
            if (hard[i] >= 0) {
                y.putScalar(i, hard[i], 1.0);
            }
        }
        return Nd4j.hstack(p, y, Nd4j.randn(DataType.DOUBLE, N, G).muli(2));
    }

    @Test
    void scoreIsTheSumOfItsTerms() {
        INDArray labels = labels(3);
        Nd4j.getRandom().setSeed(5);
        INDArray out = Nd4j.randn(DataType.DOUBLE, N, C + G);
        DistillationLoss kd = new DistillationLoss(2.0, 0.7);
        CompositeLoss loss = new CompositeLoss(kd, G, 0.3, G, Relation.RKD, 0.5);

        INDArray z = out.get(NDArrayIndex.all(), NDArrayIndex.interval(0, C));
        double[][] r = out.get(NDArrayIndex.all(), NDArrayIndex.interval(C, C + G)).toDoubleMatrix();
        double[][] g = labels.get(NDArrayIndex.all(), NDArrayIndex.interval(2 * C, 2 * C + G)).toDoubleMatrix();
        double mse = 0;
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < G; j++) {
                mse += (r[i][j] - g[i][j]) * (r[i][j] - g[i][j]) / G;
            }
        }
        double relation = RelationTest.distance(z.toDoubleMatrix(), g) + 2 * RelationTest.angle(z.toDoubleMatrix(), g);
        double expected = kd.computeScore(labels.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 2 * C)), z,
                new ActivationIdentity(), null, true) + 0.3 * mse / N + 0.5 * relation;

        assertThat(loss.computeScore(labels, out, new ActivationIdentity(), null, true)).isCloseTo(expected, within(1e-9));
        assertThat(0.3 * mse / N).isGreaterThan(0.1);
        assertThat(relation).isGreaterThan(0.01);
    }

    @Test
    void withoutExtraTermsItIsTheResponseLoss() {
        INDArray labels = labels(7);
        Nd4j.getRandom().setSeed(9);
        INDArray z = Nd4j.randn(DataType.DOUBLE, N, C);
        DistillationLoss kd = new DistillationLoss(3.0, 0.5, Divergence.JENSEN_SHANNON);
        CompositeLoss loss = new CompositeLoss(kd, G, 1.0, 0, Relation.NONE, 0);
        INDArray kdLabels = labels.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 2 * C));
        assertThat(loss.computeScoreArray(labels, z, new ActivationIdentity(), null)
                .equalsWithEps(kd.computeScoreArray(kdLabels, z, new ActivationIdentity(), null), 1e-12)).isTrue();
        assertThat(loss.computeGradient(labels, z, new ActivationIdentity(), null)
                .equalsWithEps(kd.computeGradient(kdLabels, z, new ActivationIdentity(), null), 1e-12)).isTrue();
    }

    /** DL4J's double-precision gradient check through a network whose output layer is [logits | regressor]. */
    @Test
    void passesGradientChecks() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            CompositeLoss[] losses = {
                new CompositeLoss(new DistillationLoss(2.0, 0.6), G, 0.8, G, Relation.NONE, 0),
                new CompositeLoss(new DistillationLoss(4.0, 1.0), G, 0, 0, Relation.RKD_DISTANCE, 1.5),
                new CompositeLoss(new DistillationLoss(1.0, 0.5), G, 0, 0, Relation.RKD_ANGLE, 2.0),
                new CompositeLoss(new DistillationLoss(3.0, 0.8, Divergence.REVERSE_KL), G, 0, 0, Relation.SIMILARITY,
                        3.0),
                new CompositeLoss(new DistillationLoss(2.0, 0.9), G, 0.5, G, Relation.RKD, 1.0),
            };
            for (CompositeLoss loss : losses) {
                MultiLayerNetwork net = network(loss);
                Nd4j.getRandom().setSeed(21);
                INDArray x = Nd4j.randn(DataType.DOUBLE, N, 3);
                boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net).input(x)
                        .labels(labels(23)).epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9));
                assertThat(ok).as("gradient check of %s", loss).isTrue();
            }
        } finally {
            Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        }
    }

    @Test
    void survivesAJsonRoundTripOfANetworkConfiguration() {
        CompositeLoss loss = new CompositeLoss(new DistillationLoss(2.5, 0.75, Divergence.REVERSE_KL), G, 0.4, G,
                Relation.SIMILARITY, 1.5);
        MultiLayerConfiguration conf = network(loss).getLayerWiseConfigurations();
        MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(conf.toJson());
        assertThat(((OutputLayer) back.getConf(1).getLayer()).getLossFn()).isEqualTo(loss);
        assertThat(back).isEqualTo(conf);
        assertThat(loss.withoutRegressor().outputWidth(C)).isEqualTo(C);
        assertThat(loss.outputWidth(C)).isEqualTo(C + G);
    }

    @Test
    void refusesBadShapesAndSettings() {
        CompositeLoss loss = new CompositeLoss(new DistillationLoss(2, 1), G, 1, G, Relation.NONE, 0);
        assertThatThrownBy(() -> loss.computeScore(labels(1), Nd4j.zeros(DataType.DOUBLE, N, C), new ActivationIdentity(),
                null, true)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("composite labels must be");
        assertThatThrownBy(() -> loss.computeScore(labels(1), Nd4j.zeros(DataType.DOUBLE, N, C + G),
                new ActivationSoftmax(), null, true)).hasMessageContaining("needs an identity output activation");
        assertThatThrownBy(() -> new CompositeLoss(new DistillationLoss(2, 1), G, 1, 3, Relation.NONE, 0))
                .hasMessage("the regressor must be as wide as the teacher layer (5) or absent (0), got 3");
        assertThatThrownBy(() -> new CompositeLoss(new DistillationLoss(2, 1), G, -1, G, Relation.NONE, 0))
                .hasMessage("hint and relation weights must be finite numbers >= 0, got -1.0 and 0.0");
        assertThatThrownBy(() -> new CompositeLoss(new DistillationLoss(2, 1), 0, 0, 0, Relation.NONE, 0))
                .hasMessage("teacher layer width must be > 0, got 0");
    }

    private static MultiLayerNetwork network(CompositeLoss loss) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(42).dataType(Nd4j.defaultFloatingPointType()).updater(new NoOp())
                .weightInit(WeightInit.XAVIER).list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(7).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(loss).nIn(7).nOut(loss.outputWidth(C)).activation(Activation.IDENTITY)
                        .build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }
}
