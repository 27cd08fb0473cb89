package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.loss.Divergence;
import org.distillery.model.loss.TokenDistillationLoss;
import org.distillery.model.text.WindowBatches;
import org.distillery.model.text.Windowing;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.NoOp;

class LstmLanguageModelTest {
    private static final int V = 7;
    private static final int[][] IDS = {{1, 2, 3, 4, 5, 6}, {1, 6, 6, 0, 2, 3}};

    private static MultiLayerNetwork lm() {
        return LstmArchitecture.parse("lstm:4:8,6").build(V, TokenDistillationLoss.hardLabelsOnly(), 1e-2, 3);
    }

    @Test
    void parsesSpecsAndCountsParameters() {
        LstmArchitecture a = LstmArchitecture.parse("lstm:32: 256,256");
        assertThat(a.embedding()).isEqualTo(32);
        assertThat(a.hidden()).containsExactly(256, 256);
        assertThat(a.spec()).isEqualTo("lstm:32:256,256");
        LstmArchitecture small = LstmArchitecture.parse("lstm:4:8,6");
        // embedding 7x4; LSTM 4 gates x 8 x (4 + 8 + 1); LSTM 4 x 6 x (8 + 6 + 1); output 6x7 + 7
        assertThat(small.parameters(V)).isEqualTo(28 + 416 + 360 + 49).isEqualTo(lm().numParams());
        for (String bad : new String[] {"lstm:32", "mlp:32:64", "lstm:x:64", "lstm:32:", null}) {
            assertThatThrownBy(() -> LstmArchitecture.parse(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("LM architecture must look like 'lstm:EMBED:HIDDEN[,HIDDEN...]', e.g."
                            + " 'lstm:32:256,256', got '" + bad + "'");
        }
        assertThatThrownBy(() -> LstmArchitecture.parse("lstm:0:64")).hasMessage("an LSTM LM needs an embedding width"
                + " >= 1 and at least one LSTM layer of width >= 1, got embedding 0 and layers [64]");
        assertThatThrownBy(() -> small.build(1, TokenDistillationLoss.hardLabelsOnly(), 1e-3, 1))
                .hasMessage("an LM needs a vocabulary of at least 2 ids, got 1");
    }

    @Test
    void logitsAreNvtFromEitherIdLayoutAndRawFloat32() {
        MultiLayerNetwork lm = lm();
        INDArray z = LanguageModels.logits(lm, IDS);
        assertThat(z.shape()).containsExactly(2, V, 6);
        assertThat(z.dataType()).isEqualTo(DataType.FLOAT);
        assertThat(lm.output(LanguageModels.ids(IDS).reshape(2, 1, 6), false)).isEqualTo(z);
        assertThat(z.minNumber().doubleValue()).as("identity outputs: logits, not probabilities").isNegative();
        // causal: the logits at t do not depend on later tokens
        INDArray prefix = LanguageModels.logits(lm, new int[][] {{1, 2, 3}, {1, 6, 6}});
        assertThat(prefix.equalsWithEps(z.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, 3)),
                1e-6)).isTrue();
        assertThatThrownBy(() -> LanguageModels.ids(new int[][] {{1, 2}, {1}}))
                .hasMessage("windows must have equal lengths, got 1 tokens in window 1 and 2 in window 0");
    }

    @Test
    void steppingGivesTheWindowsLogitsOneTokenAtATime() {
        MultiLayerNetwork lm = lm();
        INDArray z = LanguageModels.logits(lm, IDS);
        LanguageModels.Stepper stepper = new LanguageModels.Stepper(lm, 2);
        float[][] first = stepper.prime(new int[][] {{1, 2}, {1, 6}});
        INDArray between = LanguageModels.logits(lm, IDS); // must leave the stepper's state alone
        assertThat(between).isEqualTo(z);
        for (int t = 1; t < 6; t++) {
            float[][] step = t == 1 ? first : stepper.step(IDS[0][t], IDS[1][t]);
            for (int n = 0; n < 2; n++) {
                for (int v = 0; v < V; v++) {
                    assertThat(step[n][v]).as("stream %s, t %s", n, t).isCloseTo(z.getFloat(n, v, t), within(1e-5f));
                }
            }
        }
        stepper.reset();
        assertThat(stepper.step(1, 1)[1][0]).isCloseTo(z.getFloat(0, 0, 0), within(1e-5f));
        assertThatThrownBy(() -> stepper.step(1)).hasMessage("got 1 tokens for 2 streams");
    }

    @Test
    void theNetworksScoreIsTheMeanOverScoredTokens() {
        MultiLayerNetwork lm = lm();
        List<Windowing.Window> w = new Windowing(5, 2).cut(new int[] {1, 2, 3, 4, 5, 6, 2, 3, 4, 1});
        DataSet ds = WindowBatches.toDataSet(w.stream().map(WindowBatches.Example::of).toList(), V, 1);
        INDArray z = lm.output(ds.getFeatures(), false);
        double sum = 0;
        int scored = 0;
        for (Windowing.Window win : w) {
            for (int t = win.scoredFrom(); t < win.scoredTo(); t++, scored++) {
                double lse = 0;
                for (int v = 0; v < V; v++) {
                    lse += Math.exp(z.getDouble(win.index(), v, t));
                }
                sum += Math.log(lse) - z.getDouble(win.index(), win.targets()[t], t);
            }
        }
        assertThat(scored).isEqualTo(9);
        assertThat(lm.score(ds)).isCloseTo(sum / scored, within(1e-5));
    }

    /** DL4J's whole-network check: embedding, two LSTMs and the loss, double precision, burn-in and padding masked. */
    @Test
    void passesDoublePrecisionGradientCheckOnMaskedSequencesForEveryDivergence() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            List<Windowing.Window> w = new Windowing(4, 1).cut(new int[] {1, 2, 3, 4, 5, 6, 2, 1});
            Nd4j.getRandom().setSeed(4);
            float[][][] teacher = new float[w.size()][4][];
            for (float[][] window : teacher) {
                for (int t = 0; t < window.length; t++) {
                    window[t] = Nd4j.randn(DataType.FLOAT, V).muli(2).toFloatVector();
                }
            }
            teacher[1][2] = null; // a token without a teacher: hard term only
            List<WindowBatches.Example> rows = List.of(WindowBatches.Example.of(w.get(0)).withTeacher(teacher[0]),
                    WindowBatches.Example.of(w.get(1)).withTeacher(teacher[1]));
            double[][] temperatureAlpha = {{1, 0.5}, {2, 0.7}, {0.5, 1}}; // one setting per divergence: ~3 s each
            for (Divergence d : Divergence.values()) {
                for (double[] ta : new double[][] {temperatureAlpha[d.ordinal()]}) {
                    DataSet ds = WindowBatches.toDataSet(rows, V, ta[0]);
                    MultiLayerNetwork net = LstmArchitecture.parse("lstm:3:4,3")
                            .build(V, new TokenDistillationLoss(ta[0], ta[1], d), new NoOp(), DataType.DOUBLE, 5);
                    boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net)
                            .input(ds.getFeatures().castTo(DataType.DOUBLE))
                            .labels(ds.getLabels().castTo(DataType.DOUBLE))
                            .labelMask(ds.getLabelsMaskArray().castTo(DataType.DOUBLE))
                            .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9));
                    assertThat(ok).as("gradient check of %s at T=%s alpha=%s", d.id(), ta[0], ta[1]).isTrue();
                }
            }
        } finally {
            Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        }
    }

    @Test
    void savedAndRestoredThroughAModelZip() {
        MultiLayerNetwork lm = LstmArchitecture.parse("lstm:4:8").build(V, new TokenDistillationLoss(2, 0.5,
                Divergence.JENSEN_SHANNON), 1e-2, 3);
        MultiLayerNetwork back = Models.fromBytes(Models.toBytes(lm, true), "lm.zip", true);
        assertThat(LanguageModels.logits(back, IDS)).isEqualTo(LanguageModels.logits(lm, IDS));
        assertThat(back.getLayerWiseConfigurations()).isEqualTo(lm.getLayerWiseConfigurations());
    }
}
