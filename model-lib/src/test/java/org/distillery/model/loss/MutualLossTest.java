package org.distillery.model.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.shade.jackson.databind.ObjectMapper;

class MutualLossTest {
    private static final int N = 6;
    private static final int C = 4;
    private static final ActivationIdentity IDENTITY = new ActivationIdentity();

    /** Logits of K students side by side, [N, K*C]. */
    private static INDArray logits(int peers) {
        Nd4j.getRandom().setSeed(17);
        return Nd4j.randn(DataType.DOUBLE, N, (long) peers * C).muli(2);
    }

    /** [p = 0 | y], rows 1 and 4 without a hard label. */
    private static INDArray labels() {
        INDArray l = Nd4j.zeros(DataType.DOUBLE, N, 2 * C);
        int[] y = {0, -1, 2, 3, -1, 1};
        for (int i = 0; i < N; i++) {
            if (y[i] >= 0) {
                l.putScalar(i, C + y[i], 1.0);
            }
        }
        return l;
    }

    private static INDArray block(INDArray z, int k) {
        return z.get(NDArrayIndex.all(), NDArrayIndex.interval(k * C, (k + 1) * C)).dup();
    }

    /**
     * The independent computation: student k's loss is DistillationLoss (forward KL, already gradient-checked through a
     * network) with the mean of the other students' softmax(z_j / T), computed here with ND4J, as the teacher.
     */
    @Test
    void eachStudentsLossIsDistillationTowardsThePeersMean() {
        int peers = 3;
        double t = 2.5;
        double alpha = 0.4;
        INDArray z = logits(peers);
        INDArray labels = labels();
        INDArray y = labels.get(NDArrayIndex.all(), NDArrayIndex.interval(C, 2 * C));
        MutualLoss mutual = new MutualLoss(peers, t, alpha);
        double[][] scores = mutual.studentScores(labels, z, null);
        INDArray grad = mutual.computeGradient(labels, z, IDENTITY, null);
        double total = 0;
        for (int k = 0; k < peers; k++) {
            INDArray mean = Nd4j.zeros(DataType.DOUBLE, N, C);
            for (int j = 0; j < peers; j++) {
                if (j != k) {
                    mean.addi(Transforms.softmax(block(z, j).div(t), true));
                }
            }
            mean.divi(peers - 1);
            DistillationLoss kd = new DistillationLoss(t, alpha);
            INDArray expected = kd.computeScoreArray(Nd4j.hstack(mean, y), block(z, k), IDENTITY, null);
            for (int i = 0; i < N; i++) {
                assertThat(scores[i][k]).as("row %s student %s", i, k).isCloseTo(expected.getDouble(i), within(1e-10));
                total += scores[i][k];
            }
            INDArray expectedGrad = kd.computeGradient(Nd4j.hstack(mean, y), block(z, k), IDENTITY, null);
            assertThat(block(grad, k).equalsWithEps(expectedGrad, 1e-10)).as("gradient of student %s", k).isTrue();
        }
        assertThat(mutual.computeScore(labels, z, IDENTITY, null, true)).isCloseTo(total / N, within(1e-10));
    }

    /** A row without a hard label carries alpha T^2 KL only; peers that agree have no KL term. */
    @Test
    void unlabelledRowsCarryTheKlTermOnlyAndAgreeingPeersHaveNone() {
        double t = 2.0;
        INDArray one = block(logits(2), 0);
        INDArray same = Nd4j.hstack(one, one);
        INDArray labels = labels();
        double[][] agreeing = new MutualLoss(2, t, 0.3).studentScores(labels, same, null);
        assertThat(agreeing[1][0]).isCloseTo(0.0, within(1e-12)); // unlabelled row, no disagreement
        INDArray logS = Transforms.log(Transforms.softmax(one, true), false);
        assertThat(agreeing[0][0]).isCloseTo(-0.7 * logS.getDouble(0, 0), within(1e-10)); // label 0: CE only

        INDArray z = logits(2);
        double[][] s = new MutualLoss(2, t, 0.3).studentScores(labels, z, null);
        INDArray q0 = Transforms.softmax(block(z, 0).div(t), true);
        INDArray q1 = Transforms.softmax(block(z, 1).div(t), true);
        double kl = 0; // KL(q1 || q0) on row 4, by hand
        for (int j = 0; j < C; j++) {
            kl += q1.getDouble(4, j) * Math.log(q1.getDouble(4, j) / q0.getDouble(4, j));
        }
        assertThat(s[4][0]).isCloseTo(0.3 * t * t * kl, within(1e-10));
    }

    /**
     * Gradient check in double precision: central differences of each student's own loss L_k over its own logits
     * (the peers' mean is detached, so L_k, not the summed score, is what the gradient is of), with a fractional mask.
     */
    @Test
    void gradientOfEachStudentMatchesFiniteDifferencesOfItsOwnLoss() {
        double eps = 1e-6;
        for (double[] ta : new double[][] {{1, 0.5}, {3, 0.9}, {2, 0}, {2, 1}}) {
            for (int peers : new int[] {2, 3}) {
                MutualLoss loss = new MutualLoss(peers, ta[0], ta[1]);
                INDArray z = logits(peers);
                INDArray labels = labels();
                INDArray mask = Nd4j.create(new double[] {1, 0.5, 1, 0, 1, 1}, new long[] {N, 1}, DataType.DOUBLE);
                INDArray grad = loss.computeGradient(labels, z, IDENTITY, mask);
                for (int i = 0; i < N; i++) {
                    for (int col = 0; col < peers * C; col++) {
                        int k = col / C;
                        double saved = z.getDouble(i, col);
                        z.putScalar(i, col, saved + eps);
                        double up = loss.studentScores(labels, z, mask)[i][k];
                        z.putScalar(i, col, saved - eps);
                        double down = loss.studentScores(labels, z, mask)[i][k];
                        z.putScalar(i, col, saved);
                        double numeric = (up - down) / (2 * eps);
                        double analytic = grad.getDouble(i, col);
                        assertThat(analytic).as("T=%s alpha=%s K=%s row %s column %s", ta[0], ta[1], peers, i, col)
                                .isCloseTo(numeric, within(1e-7 + 1e-5 * Math.abs(numeric)));
                    }
                }
            }
        }
    }

    @Test
    void floatLogitsGiveTheDoubleResultToFloatPrecision() {
        INDArray z = logits(2);
        MutualLoss loss = new MutualLoss(2, 2.0, 0.5);
        INDArray d = loss.computeGradient(labels(), z, IDENTITY, null);
        INDArray f = loss.computeGradient(labels().castTo(DataType.FLOAT), z.castTo(DataType.FLOAT), IDENTITY, null);
        assertThat(f.dataType()).isEqualTo(DataType.FLOAT);
        assertThat(f.castTo(DataType.DOUBLE).equalsWithEps(d, 1e-5)).isTrue();
    }

    @Test
    void survivesJsonAndRefusesBadValues() throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        MutualLoss loss = new MutualLoss(3, 2.0, 0.25);
        String json = mapper.writeValueAsString(loss);
        assertThat(mapper.readValue(json, MutualLoss.class)).isEqualTo(loss);
        assertThatThrownBy(() -> new MutualLoss(1, 1, 0.5)).hasMessageContaining("at least 2 peers, got 1");
        assertThatThrownBy(() -> new MutualLoss(2, 0, 0.5)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new MutualLoss(2, 1, 1.5)).hasMessageContaining("alpha");
        assertThatThrownBy(() -> loss.computeScore(labels(), logits(2), IDENTITY, null, false))
                .hasMessageContaining("[N, K*C]");
    }
}
