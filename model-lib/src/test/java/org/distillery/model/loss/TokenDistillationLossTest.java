package org.distillery.model.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.TimeSeriesUtils;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The token-level loss on what an RnnOutputLayer hands it: 3-D logits [N, V, T], labels [N, 2V, T] and mask [N, T],
 * reshaped to rows by DL4J's own TimeSeriesUtils. The whole-network gradient check is in LstmLanguageModelTest.
 */
class TokenDistillationLossTest {
    private static final int N = 2;
    private static final int V = 5;
    private static final int T = 4;
    private static final ActivationIdentity IDENTITY = new ActivationIdentity();

    /** [N, C, T] to DL4J's [N*T, C] rows, as the output layer does. */
    private static INDArray rows(INDArray ncw) {
        return TimeSeriesUtils.reshape3dTo2d(ncw, LayerWorkspaceMgr.noWorkspaces(), ArrayType.ACTIVATIONS);
    }

    private static INDArray maskRows(INDArray mask) {
        return TimeSeriesUtils.reshapeTimeSeriesMaskToVector(mask, LayerWorkspaceMgr.noWorkspaces(),
                ArrayType.INPUT);
    }

    private static INDArray logits(long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.DOUBLE, N, V, T).muli(2);
    }

    /** Labels [N, 2V, T]: a random teacher distribution and one-hot next tokens; no teacher at (1, *, 2). */
    private static INDArray labels(long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray p = Transforms.softmax(Nd4j.randn(DataType.DOUBLE, N * T, V), false);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, N, 2 * V, T);
        for (int n = 0; n < N; n++) {
            for (int t = 0; t < T; t++) {
                for (int v = 0; v < V; v++) {
                    y.putScalar(new int[] {n, v, t}, n == 1 && t == 2 ? 0 : p.getDouble(n * T + t, v));
                }
                y.putScalar(new int[] {n, V + (3 * n + t) % V, t}, 1.0);
            }
        }
        return y;
    }

    /** Burn-in on window 1's first position, padding at window 0's last. */
    private static INDArray mask() {
        return Nd4j.create(new double[][] {{1, 1, 1, 0}, {0, 1, 1, 1}});
    }

    @Test
    void alphaZeroAtTemperatureOneIsMeanCrossEntropyOverScoredTokens() {
        INDArray z = rows(logits(1));
        INDArray labels = rows(labels(2));
        INDArray m = maskRows(mask());
        INDArray y = labels.get(NDArrayIndex.all(), NDArrayIndex.interval(V, 2 * V));
        TokenDistillationLoss loss = TokenDistillationLoss.hardLabelsOnly();
        LossMCXENT ce = new LossMCXENT();
        double scored = 6;
        assertThat(loss.computeScore(labels, z, IDENTITY, m, true))
                .isCloseTo(ce.computeScore(y, z, new ActivationSoftmax(), m, false) / scored, within(1e-12));
        INDArray expected = ce.computeGradient(y, z, new ActivationSoftmax(), m).divi(scored);
        assertThat(loss.computeGradient(labels, z, IDENTITY, m).equalsWithEps(expected, 1e-12)).isTrue();
    }

    @Test
    void alphaOneWithTheStudentAsTeacherIsZeroForEveryDivergence() {
        for (double t : new double[] {1, 3}) {
            INDArray z = rows(logits(3));
            INDArray labels = Nd4j.hstack(Transforms.softmax(z.div(t), true), Nd4j.zeros(DataType.DOUBLE, N * T, V));
            for (Divergence d : Divergence.values()) {
                TokenDistillationLoss loss = new TokenDistillationLoss(t, 1.0, d);
                assertThat(loss.computeScore(labels, z, IDENTITY, maskRows(mask()), false)).as("%s T=%s", d, t)
                        .isCloseTo(0, within(1e-12));
                assertThat(loss.computeGradient(labels, z, IDENTITY, maskRows(mask())).amaxNumber().doubleValue())
                        .as("%s T=%s", d, t).isLessThan(1e-12);
            }
        }
    }

    @Test
    void maskedTokensChangeNothingAndTheMeanIsOverScoredTokens() {
        INDArray m = maskRows(mask());
        assertThat(m.toDoubleVector()).containsExactly(1, 0, 1, 1, 1, 1, 0, 1);
        for (Divergence d : Divergence.values()) {
            TokenDistillationLoss loss = new TokenDistillationLoss(2.0, 0.4, d);
            INDArray z = rows(logits(4));
            INDArray labels = rows(labels(5));
            double score = loss.computeScore(labels, z, IDENTITY, m, false);
            INDArray grad = loss.computeGradient(labels, z, IDENTITY, m);
            INDArray otherZ = z.dup();
            INDArray otherLabels = labels.dup();
            for (int row = 0; row < N * T; row++) {
                if (m.getDouble(row) == 0) {
                    otherZ.getRow(row).assign(Nd4j.randn(DataType.DOUBLE, 1, V).muli(10));
                    otherLabels.getRow(row).assign(0); // a padded position: no teacher, no target
                }
            }
            assertThat(loss.computeScore(otherLabels, otherZ, IDENTITY, m, false)).isEqualTo(score);
            assertThat(loss.computeGradient(otherLabels, otherZ, IDENTITY, m)).isEqualTo(grad);
            double sum = loss.computeScoreArray(labels, z, IDENTITY, m).sumNumber().doubleValue();
            assertThat(score).isCloseTo(sum / 6, within(1e-12)).isPositive();

            // The same tokens without a mask, taken out of their windows: the same mean and gradients.
            int[] scoredRows = {0, 2, 3, 4, 5, 7}; // DL4J's rows are time-major, t * N + n
            INDArray subset = loss.computeGradient(labels.getRows(scoredRows), z.getRows(scoredRows), IDENTITY, null);
            assertThat(loss.computeScore(labels.getRows(scoredRows), z.getRows(scoredRows), IDENTITY, null, false))
                    .isCloseTo(score, within(1e-12));
            assertThat(grad.getRows(scoredRows).equalsWithEps(subset, 1e-12)).isTrue();
            assertThat(grad.getRow(1).amaxNumber().doubleValue()).isZero(); // (n 1, t 0): burn-in
            assertThat(grad.getRow(6).amaxNumber().doubleValue()).isZero(); // (n 0, t 3): padding
        }
        TokenDistillationLoss loss = new TokenDistillationLoss(2.0, 0.5);
        INDArray none = Nd4j.zeros(DataType.DOUBLE, N * T, 1);
        assertThat(loss.computeScore(rows(labels(5)), rows(logits(4)), IDENTITY, none, false)).isZero();
        assertThat(loss.computeGradient(rows(labels(5)), rows(logits(4)), IDENTITY, none).amaxNumber().doubleValue())
                .isZero();
    }

    /** Central differences of the score in double precision, for every divergence, with masks and rows w/o teacher. */
    @Test
    void gradientsMatchFiniteDifferencesOnMaskedSequences() {
        INDArray m = maskRows(mask());
        for (Divergence d : Divergence.values()) {
            for (double[] ta : new double[][] {{1, 0}, {1, 1}, {2, 0.5}, {0.7, 0.3}, {4, 1}}) {
                TokenDistillationLoss loss = new TokenDistillationLoss(ta[0], ta[1], d);
                INDArray labels = rows(labels(7));
                double[] sparse = {0.6, 0.4, 0, 0, 0}; // teacher probabilities exactly 0 (as top-1 targets may be)
                for (int k = 0; k < V; k++) {
                    labels.putScalar(0, k, sparse[k]);
                }
                INDArray z = rows(logits(8));
                INDArray grad = loss.computeGradient(labels, z, IDENTITY, m);
                double h = 1e-6;
                for (int i = 0; i < N * T; i++) {
                    for (int k = 0; k < V; k++) {
                        double at = z.getDouble(i, k);
                        z.putScalar(i, k, at + h);
                        double up = loss.computeScore(labels, z, IDENTITY, m, false);
                        z.putScalar(i, k, at - h);
                        double down = loss.computeScore(labels, z, IDENTITY, m, false);
                        z.putScalar(i, k, at);
                        double numeric = (up - down) / (2 * h);
                        assertThat(grad.getDouble(i, k)).as("%s T=%s alpha=%s dz[%s][%s]", d, ta[0], ta[1], i, k)
                                .isCloseTo(numeric, within(1e-8 + 1e-7 * Math.abs(numeric)));
                    }
                }
            }
        }
    }

    @Test
    void refusesAMaskThatIsNotOneValuePerToken() {
        assertThatThrownBy(() -> new TokenDistillationLoss(1, 0.5).computeScore(rows(labels(1)), rows(logits(1)),
                IDENTITY, Nd4j.ones(DataType.DOUBLE, N * T, V), false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("token mask must have one value per token (8), got shape [8, 5]");
        assertThatThrownBy(() -> new TokenDistillationLoss(0, 0.5))
                .hasMessage("temperature must be a finite number > 0, got 0.0");
    }

    @Test
    void survivesJsonRoundTripsAsAnRnnOutputLayersLoss() {
        for (Divergence d : Divergence.values()) {
            TokenDistillationLoss loss = new TokenDistillationLoss(2.5, 0.75, d);
            MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().list()
                    .layer(new LSTM.Builder().nIn(3).nOut(4).build())
                    .layer(new RnnOutputLayer.Builder(loss).nIn(4).nOut(V).build()).build();
            assertThat(conf.toJson()).contains("\"divergence\" : \"" + d.id() + "\"");
            for (MultiLayerConfiguration back : new MultiLayerConfiguration[] {
                    MultiLayerConfiguration.fromJson(conf.toJson()), MultiLayerConfiguration.fromYaml(conf.toYaml())}) {
                assertThat(((RnnOutputLayer) back.getConf(1).getLayer()).getLossFn()).isEqualTo(loss);
            }
        }
        assertThat(new TokenDistillationLoss(2, 0.5, Divergence.REVERSE_KL).name())
                .isEqualTo("TokenDistillationLoss(T=2.0, alpha=0.5, divergence=reverse)");
        assertThat(new TokenDistillationLoss(2, 0.5)).isNotEqualTo(new DistillationLoss(2, 0.5))
                .isEqualTo(new TokenDistillationLoss(2, 0.5, null));
    }
}
