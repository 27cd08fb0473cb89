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
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.ops.transforms.Transforms;

class DistillationLossTest {
    private static final int N = 5;
    private static final int C = 4;

    private static INDArray logits() {
        Nd4j.getRandom().setSeed(7);
        return Nd4j.randn(DataType.DOUBLE, N, C).muli(2);
    }

    /** Teacher distribution: a random softmax, so no entry is exactly 0 or 1. */
    private static INDArray teacher() {
        Nd4j.getRandom().setSeed(11);
        return Transforms.softmax(Nd4j.randn(DataType.DOUBLE, N, C), false);
    }

    private static INDArray oneHot(int... labels) {
        INDArray y = Nd4j.zeros(DataType.DOUBLE, labels.length, C);
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] >= 0) {
                y.putScalar(i, labels[i], 1.0);
            }
        }
        return y;
    }

    private static INDArray layout(INDArray p, INDArray y) {
        return Nd4j.hstack(p, y);
    }

    @Test
    void alphaZeroIsPlainCrossEntropy() {
        INDArray z = logits();
        INDArray y = oneHot(0, 1, 2, 3, 1);
        DistillationLoss kd = new DistillationLoss(3.0, 0.0);
        LossMCXENT ce = new LossMCXENT();
        INDArray labels = layout(teacher(), y);

        assertThat(kd.computeScore(labels, z, new ActivationIdentity(), null, false))
                .isCloseTo(ce.computeScore(y, z, new ActivationSoftmax(), null, false), within(1e-10));
        INDArray expectedGrad = ce.computeGradient(y, z, new ActivationSoftmax(), null);
        assertThat(kd.computeGradient(labels, z, new ActivationIdentity(), null).equalsWithEps(expectedGrad, 1e-10))
                .isTrue();
    }

    @Test
    void alphaOneAtTemperatureOneIsCrossEntropyToTheTeacher() {
        INDArray z = logits();
        INDArray p = teacher();
        DistillationLoss kd = new DistillationLoss(1.0, 1.0);
        LossMCXENT ce = new LossMCXENT();
        INDArray labels = layout(p, oneHot(0, 1, 2, 3, 1)); // hard labels must not matter at alpha = 1

        // KL(p || q) = CE(p, q) - H(p): same gradient, score lower by the teacher's entropy.
        double entropy = -p.mul(Transforms.log(p, true)).sumNumber().doubleValue();
        assertThat(kd.computeScore(labels, z, new ActivationIdentity(), null, false))
                .isCloseTo(ce.computeScore(p, z, new ActivationSoftmax(), null, false) - entropy, within(1e-10));
        INDArray expectedGrad = ce.computeGradient(p, z, new ActivationSoftmax(), null);
        assertThat(kd.computeGradient(labels, z, new ActivationIdentity(), null).equalsWithEps(expectedGrad, 1e-10))
                .isTrue();
    }

    @Test
    void softTermIsTemperatureSquaredKlAndZeroAtAPerfectMatch() {
        double t = 4.0;
        INDArray z = logits();
        INDArray matched = Transforms.softmax(z.div(t), true);
        DistillationLoss kd = new DistillationLoss(t, 1.0);
        INDArray labels = layout(matched, oneHot(-1, -1, -1, -1, -1));
        assertThat(kd.computeScore(labels, z, new ActivationIdentity(), null, true)).isCloseTo(0.0, within(1e-12));
        assertThat(kd.computeGradient(labels, z, new ActivationIdentity(), null).amaxNumber().doubleValue())
                .isLessThan(1e-12);

        INDArray p = teacher();
        double expected = 0;
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < C; j++) {
                double pj = p.getDouble(i, j);
                expected += pj * (Math.log(pj) - Math.log(matched.getDouble(i, j)));
            }
        }
        assertThat(kd.computeScore(layout(p, oneHot(-1, -1, -1, -1, -1)), z, new ActivationIdentity(), null, true))
                .isCloseTo(t * t * expected / N, within(1e-10));
    }

    @Test
    void rowsWithoutHardLabelCarryTheSoftTermOnly() {
        INDArray z = logits();
        INDArray p = teacher();
        DistillationLoss kd = new DistillationLoss(2.0, 0.3);
        INDArray scores = kd.computeScoreArray(layout(p, oneHot(2, -1, -1, 0, -1)), z, new ActivationIdentity(), null);
        INDArray softOnly = new DistillationLoss(2.0, 1.0)
                .computeScoreArray(layout(p, oneHot(2, -1, -1, 0, -1)), z, new ActivationIdentity(), null);
        for (int unlabelled : new int[] {1, 2, 4}) {
            assertThat(scores.getDouble(unlabelled)).isCloseTo(0.3 * softOnly.getDouble(unlabelled), within(1e-12));
        }
        assertThat(scores.getDouble(0)).isGreaterThan(0.3 * softOnly.getDouble(0));
    }

    @Test
    void maskZeroesRowsScoreAndGradient() {
        INDArray z = logits();
        INDArray labels = layout(teacher(), oneHot(0, 1, 2, 3, 1));
        INDArray mask = Nd4j.create(new double[] {1, 0, 1, 0, 1}, new long[] {N, 1}, DataType.DOUBLE);
        DistillationLoss kd = new DistillationLoss(2.0, 0.5);
        INDArray scores = kd.computeScoreArray(labels, z, new ActivationIdentity(), mask);
        INDArray grad = kd.computeGradient(labels, z, new ActivationIdentity(), mask);
        assertThat(scores.getDouble(1)).isZero();
        assertThat(grad.getRow(3).amaxNumber().doubleValue()).isZero();
        assertThat(grad.getRow(0).amaxNumber().doubleValue()).isPositive();
    }

    /** Gradient and score from one row pass: the same row loop as the two separate calls, so exactly their values. */
    @Test
    void gradientAndScoreTogetherAreTheSeparateCalls() {
        INDArray z = logits();
        INDArray labels = layout(teacher(), oneHot(0, 1, 2, 3, 1));
        INDArray mask = Nd4j.create(new double[] {1, 0, 1, 0.5, 1}, new long[] {N, 1}, DataType.DOUBLE);
        DistillationLoss kd = new DistillationLoss(2.0, 0.5);
        for (boolean average : new boolean[] {false, true}) {
            var both = kd.computeGradientAndScore(labels, z, new ActivationIdentity(), mask, average);
            assertThat(both.getFirst()).isEqualTo(kd.computeScore(labels, z, new ActivationIdentity(), mask, average));
            assertThat(both.getSecond()).isEqualTo(kd.computeGradient(labels, z, new ActivationIdentity(), mask));
        }
    }

    /**
     * Identity-activated logits take the plain-Java row loop ({@link KdRows}); an identity activation of another class
     * takes the ND4J formulation. Both must give the same scores and gradients, for every divergence, in both
     * precisions, with a fractional mask and rows without a teacher or a hard label.
     */
    @Test
    void javaRowLoopEqualsTheNd4jFormulation() {
        ActivationIdentity nd4jPath = new ActivationIdentity() {
        };
        for (DataType type : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
            INDArray z = logits().muli(3).castTo(type);
            INDArray p = teacher();
            p.getRow(2).assign(0); // no teacher
            INDArray labels = layout(p, oneHot(0, -1, 2, -1, 1)).castTo(type);
            INDArray mask = Nd4j.create(new double[] {1, 0.5, 1, 0, 1}, new long[] {N, 1}, DataType.DOUBLE)
                    .castTo(type);
            double eps = type == DataType.DOUBLE ? 1e-10 : 1e-5;
            for (Divergence d : Divergence.values()) {
                DistillationLoss kd = new DistillationLoss(2.5, 0.3, d);
                for (INDArray m : new INDArray[] {null, mask}) {
                    INDArray java = kd.computeScoreArray(labels, z, new ActivationIdentity(), m);
                    INDArray nd4j = kd.computeScoreArray(labels, z, nd4jPath, m);
                    assertThat(java.equalsWithEps(nd4j, eps)).as("%s %s scores %s vs %s", type, d, java, nd4j).isTrue();
                    assertThat(kd.computeScore(labels, z, new ActivationIdentity(), m, true))
                            .isCloseTo(kd.computeScore(labels, z, nd4jPath, m, true), within(eps));
                    INDArray gJava = kd.computeGradient(labels, z, new ActivationIdentity(), m);
                    INDArray gNd4j = kd.computeGradient(labels, z, nd4jPath, m);
                    assertThat(gJava.dataType()).isEqualTo(type);
                    assertThat(gJava.equalsWithEps(gNd4j, eps)).as("%s %s gradients", type, d).isTrue();
                    assertThat(gJava.amaxNumber().doubleValue()).isPositive();
                }
            }
        }
    }

    @Test
    void rejectsInvalidHyperparametersAndLayouts() {
        assertThatThrownBy(() -> new DistillationLoss(0, 0.5)).hasMessage("temperature must be a finite number > 0, got 0.0");
        assertThatThrownBy(() -> new DistillationLoss(2, 1.5)).hasMessage("alpha must be in [0, 1], got 1.5");
        assertThatThrownBy(() -> new DistillationLoss(2, 0.5)
                .computeScore(teacher(), logits(), new ActivationIdentity(), null, true))
                .hasMessageStartingWith("distillation labels must be [N, 2C] = [5, 8]");
    }

    @Test
    void passesDoublePrecisionGradientCheck() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            for (double[] ta : new double[][] {{1, 0}, {1, 1}, {3, 0.7}, {0.5, 0.2}}) {
                MultiLayerNetwork net = network(new DistillationLoss(ta[0], ta[1]), DataType.DOUBLE);
                Nd4j.getRandom().setSeed(3);
                INDArray x = Nd4j.rand(DataType.DOUBLE, N, 6);
                INDArray labels = layout(teacher(), oneHot(1, -1, 3, -1, 0));
                boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net).input(x)
                        .labels(labels).epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9));
                assertThat(ok).as("gradient check at T=%s alpha=%s", ta[0], ta[1]).isTrue();
            }
        } finally {
            Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        }
    }

    @Test
    void survivesJsonAndYamlRoundTripsOfANetworkConfiguration() {
        for (DistillationLoss loss : new DistillationLoss[] {new DistillationLoss(2.5, 0.75),
                new DistillationLoss(2.5, 0.75, Divergence.REVERSE_KL),
                new DistillationLoss(2.5, 0.75, Divergence.JENSEN_SHANNON)}) {
            MultiLayerConfiguration conf = network(loss, DataType.FLOAT).getLayerWiseConfigurations();
            assertThat(conf.toJson()).contains("\"divergence\" : \"" + loss.getDivergence().id() + "\"");
            for (MultiLayerConfiguration back : new MultiLayerConfiguration[] {
                    MultiLayerConfiguration.fromJson(conf.toJson()), MultiLayerConfiguration.fromYaml(conf.toYaml())}) {
                OutputLayer out = (OutputLayer) back.getConf(1).getLayer();
                assertThat(out.getLossFn()).isEqualTo(loss);
                assertThat(back).isEqualTo(conf);
            }
        }
    }

    @Test
    void configurationSavedBeforeDivergencesLoadsAsForwardKl() {
        MultiLayerConfiguration conf = network(new DistillationLoss(2.5, 0.75), DataType.FLOAT)
                .getLayerWiseConfigurations();
        // The loss exactly as the two-field class wrote it.
        String legacy = conf.toJson().replaceFirst("\"lossFn\" : \\{[^}]*\\}", """
                "lossFn" : {
                        "@class" : "org.distillery.model.loss.DistillationLoss",
                        "alpha" : 0.75,
                        "temperature" : 2.5
                      }""");
        assertThat(legacy).doesNotContain("divergence");
        OutputLayer out = (OutputLayer) MultiLayerConfiguration.fromJson(legacy).getConf(1).getLayer();
        assertThat(out.getLossFn()).isEqualTo(new DistillationLoss(2.5, 0.75, Divergence.FORWARD_KL));
    }

    @Test
    void knownValuesAndGradientsForEachDivergence() {
        double t = 2.0;
        double alpha = 0.6;
        double[][] z = {{1.5, -0.5, 0.3, 2.0}, {0.1, 0.2, -1.0, 0.4}, {3.0, 0.0, -2.0, 1.0}};
        double[][] p = {{0.7, 0.2, 0.1, 0.0}, {0.25, 0.25, 0.25, 0.25}, {0, 0, 0, 0}}; // exact 0s; a row w/o teacher
        int[] hard = {1, -1, 2};
        INDArray logits = Nd4j.create(z);
        INDArray labels = layout(Nd4j.create(p), oneHot(hard));
        for (Divergence d : Divergence.values()) {
            DistillationLoss kd = new DistillationLoss(t, alpha, d);
            INDArray scores = kd.computeScoreArray(labels, logits, new ActivationIdentity(), null);
            INDArray grad = kd.computeGradient(labels, logits, new ActivationIdentity(), null);
            for (int i = 0; i < z.length; i++) {
                assertThat(scores.getDouble(i)).as("%s row %s", d, i)
                        .isCloseTo(reference(d, p[i], hard[i], z[i], t, alpha), within(1e-12));
                for (int k = 0; k < C; k++) { // central differences of the reference
                    double[] up = z[i].clone();
                    double[] down = z[i].clone();
                    up[k] += 1e-6;
                    down[k] -= 1e-6;
                    double numeric = (reference(d, p[i], hard[i], up, t, alpha)
                            - reference(d, p[i], hard[i], down, t, alpha)) / 2e-6;
                    assertThat(grad.getDouble(i, k)).as("%s dz[%s][%s]", d, i, k).isCloseTo(numeric, within(1e-7));
                }
            }
            assertThat(scores.getDouble(2)).as("row without teacher: hard term only")
                    .isCloseTo((1 - alpha) * -Math.log(softmax(z[2], 1)[2]), within(1e-12));
        }
    }

    /** The loss of one row, written independently of the class: JS through entropies, H(m) - (H(p) + H(q)) / 2. */
    private static double reference(Divergence d, double[] p, int hard, double[] z, double t, double alpha) {
        double[] q = softmax(z, t);
        double soft = 0;
        double teacherMass = 0;
        for (int k = 0; k < p.length; k++) {
            teacherMass += p[k];
            double m = (p[k] + q[k]) / 2;
            soft += switch (d) {
                case FORWARD_KL -> p[k] > 0 ? p[k] * Math.log(p[k] / q[k]) : 0;
                case REVERSE_KL -> q[k] * (Math.log(q[k]) - Math.log(Math.max(p[k], 1e-30)));
                case JENSEN_SHANNON -> -xlogx(m) + (xlogx(p[k]) + xlogx(q[k])) / 2;
            };
        }
        double ce = hard < 0 ? 0 : -Math.log(softmax(z, 1)[hard]);
        return alpha * t * t * (teacherMass > 0 ? soft : 0) + (1 - alpha) * ce;
    }

    private static double xlogx(double x) {
        return x > 0 ? x * Math.log(x) : 0;
    }

    private static double[] softmax(double[] z, double t) {
        double max = java.util.Arrays.stream(z).max().orElseThrow();
        double[] e = java.util.Arrays.stream(z).map(v -> Math.exp((v - max) / t)).toArray();
        double sum = java.util.Arrays.stream(e).sum();
        return java.util.Arrays.stream(e).map(v -> v / sum).toArray();
    }

    @Test
    void reverseKlAndJsAreZeroWithZeroGradientAtAPerfectMatch() {
        double t = 3.0;
        INDArray z = logits();
        INDArray labels = layout(Transforms.softmax(z.div(t), true), oneHot(-1, -1, -1, -1, -1));
        for (Divergence d : new Divergence[] {Divergence.REVERSE_KL, Divergence.JENSEN_SHANNON}) {
            DistillationLoss kd = new DistillationLoss(t, 1.0, d);
            assertThat(kd.computeScoreArray(labels, z, new ActivationIdentity(), null).amaxNumber().doubleValue())
                    .as("%s", d).isLessThan(1e-12);
            assertThat(kd.computeGradient(labels, z, new ActivationIdentity(), null).amaxNumber().doubleValue())
                    .as("%s", d).isLessThan(1e-12);
        }
    }

    @Test
    void jsIsSymmetricAndBoundedByLn2TimesTemperatureSquared() {
        double t = 2.0;
        DistillationLoss js = new DistillationLoss(t, 1.0, Divergence.JENSEN_SHANNON);
        INDArray noHard = oneHot(-1, -1, -1, -1, -1);
        INDArray z = logits();
        INDArray p = teacher();
        // Swap roles: the student's q becomes the teacher, and logits T log p make the student's softmax(z / T) = p.
        INDArray pq = js.computeScoreArray(layout(p, noHard), z, new ActivationIdentity(), null);
        INDArray qp = js.computeScoreArray(layout(Transforms.softmax(z.div(t), true), noHard),
                Transforms.log(p, true).muli(t), new ActivationIdentity(), null);
        assertThat(pq.equalsWithEps(qp, 1e-12)).isTrue();
        assertThat(pq.minNumber().doubleValue()).isPositive();

        // Nearly disjoint supports approach the bound ln 2 * T^2 from below.
        INDArray disjoint = Nd4j.create(new double[][] {{1, 0, 0, 0}, {0, 0.5, 0.5, 0}});
        INDArray far = Nd4j.create(new double[][] {{-40, 40, 40, 40}, {40, -40, -40, 40}});
        INDArray bound = js.computeScoreArray(layout(disjoint, oneHot(-1, -1)), far, new ActivationIdentity(), null);
        double ln2t2 = Math.log(2) * t * t;
        assertThat(pq.maxNumber().doubleValue()).isLessThan(ln2t2);
        for (int i = 0; i < 2; i++) {
            assertThat(bound.getDouble(i)).isLessThanOrEqualTo(ln2t2 * (1 + 1e-12)).isCloseTo(ln2t2, within(1e-6));
        }
    }

    @Test
    void reverseKlAndJsPassDoublePrecisionGradientCheck() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            for (Divergence d : new Divergence[] {Divergence.REVERSE_KL, Divergence.JENSEN_SHANNON}) {
                for (double[] ta : new double[][] {{1, 1}, {1, 0.5}, {3, 0.7}, {0.5, 0.2}, {2, 1}}) {
                    MultiLayerNetwork net = network(new DistillationLoss(ta[0], ta[1], d), DataType.DOUBLE);
                    Nd4j.getRandom().setSeed(3);
                    INDArray x = Nd4j.rand(DataType.DOUBLE, N, 6);
                    INDArray p = teacher();
                    p.putRow(4, Nd4j.zeros(DataType.DOUBLE, 1, C)); // no teacher: hard term only
                    p.putRow(2, Nd4j.create(new double[] {0.6, 0.4, 0, 0})); // teacher probabilities exactly 0
                    INDArray labels = layout(p, oneHot(1, -1, 3, -1, 0));
                    boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net).input(x)
                            .labels(labels).epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9));
                    assertThat(ok).as("gradient check of %s at T=%s alpha=%s", d.id(), ta[0], ta[1]).isTrue();
                }
            }
        } finally {
            Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        }
    }

    @Test
    void divergenceParsesIdsAndNamesAndShowsInName() {
        assertThat(Divergence.parse("js")).isEqualTo(Divergence.JENSEN_SHANNON);
        assertThat(Divergence.parse("REVERSE_KL")).isEqualTo(Divergence.REVERSE_KL);
        assertThatThrownBy(() -> Divergence.parse("bogus"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("divergence must be one of [forward, reverse, js], got 'bogus'");
        assertThat(new DistillationLoss(2, 0.5).name())
                .isEqualTo("DistillationLoss(T=2.0, alpha=0.5, divergence=forward)");
        assertThat(new DistillationLoss(2, 0.5, null)).isEqualTo(new DistillationLoss(2, 0.5));
        assertThat(new DistillationLoss(2, 0.5, Divergence.REVERSE_KL)).isNotEqualTo(new DistillationLoss(2, 0.5))
                .doesNotHaveSameHashCodeAs(new DistillationLoss(2, 0.5));
    }

    private static MultiLayerNetwork network(DistillationLoss loss, DataType type) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(12345).dataType(type).updater(new NoOp()).weightInit(WeightInit.XAVIER)
                .list()
                .layer(new DenseLayer.Builder().nIn(6).nOut(5).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(loss).nIn(5).nOut(C).activation(Activation.IDENTITY).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }
}
