package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

class FastAdamTest {
    private static MultiLayerNetwork net(IUpdater updater) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.FLOAT)
                .updater(updater).list()
                .layer(new DenseLayer.Builder().nIn(12).nOut(9).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(9).nOut(4)
                        .activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    private static List<DataSet> batches() {
        Nd4j.getRandom().setSeed(5);
        List<DataSet> out = new ArrayList<>();
        for (int b = 0; b < 6; b++) {
            INDArray y = Nd4j.zeros(DataType.FLOAT, 16, 4);
            for (int i = 0; i < 16; i++) {
                y.putScalar(i, (i * 3 + b) % 4, 1f);
            }
            out.add(new DataSet(Nd4j.randn(DataType.FLOAT, 16, 12), y));
        }
        return out;
    }

    @Test
    void takesTheSameStepsAsDl4jsAdam() {
        MultiLayerNetwork reference = net(new Adam(0.01));
        MultiLayerNetwork fast = net(new FastAdam(0.01));
        assertThat(fast.params()).isEqualTo(reference.params());
        for (int epoch = 0; epoch < 3; epoch++) {
            for (DataSet d : batches()) {
                reference.fit(d);
                fast.fit(d);
            }
        }
        INDArray moved = reference.params().sub(net(new Adam(0.01)).params());
        assertThat(moved.norm2Number().doubleValue()).as("training moved the parameters").isGreaterThan(0.1);
        assertThat(fast.params().equalsWithEps(reference.params(), 1e-5)).isTrue();
        // the same state layout (m, then v): one network's state drives the other's next step identically
        assertThat(fast.getUpdater().getStateViewArray().equalsWithEps(reference.getUpdater().getStateViewArray(),
                1e-6)).isTrue();
    }

    @Test
    void survivesJsonAndModelZipRoundTripsWithItsState() throws Exception {
        MultiLayerNetwork fast = net(new FastAdam(0.02, 0.8, 0.99, 1e-7));
        batches().forEach(fast::fit);
        MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(fast.getLayerWiseConfigurations().toJson());
        assertThat(back).isEqualTo(fast.getLayerWiseConfigurations());
        MultiLayerNetwork restored = Models.fromBytes(Models.toBytes(fast, true), "test", true);
        DataSet next = batches().get(0);
        fast.fit(next);
        restored.fit(next);
        assertThat(restored.params()).isEqualTo(fast.params());
    }

    /** Moments too small to matter are set to 0 every 64th iteration; every other moment takes Adam's rule. */
    @Test
    void flushesSubnormalMomentsEvery64Iterations() {
        int n = 4;
        INDArray state = Nd4j.create(new float[] {1e-40f, 0.5f, -1e-35f, 0.25f, 1e-42f, 0.125f, 1e-33f, 0.0625f},
                new long[] {1, 2 * n});
        var updater = new FastAdam(0.01).instantiate(state, false);
        updater.applyUpdater(Nd4j.zeros(DataType.FLOAT, 1, n), 1, 0); // not a flush iteration
        assertThat(state.getFloat(0)).isNotZero();
        updater.applyUpdater(Nd4j.zeros(DataType.FLOAT, 1, n), 64, 0);
        float[] after = state.toFloatVector();
        // the tiny ones flushed to exactly 0 at iteration 64; the others m = 0.9 m, v = 0.999 v (zero gradient), twice
        for (int i : new int[] {0, 2, 4, 6}) {
            assertThat(after[i]).as("moment %d", i).isZero();
        }
        assertThat(new float[] {after[1], after[3], after[5], after[7]}).containsExactly(new float[] {0.5f * 0.81f,
                0.25f * 0.81f, 0.125f * 0.999f * 0.999f, 0.0625f * 0.999f * 0.999f},
                org.assertj.core.api.Assertions.withPrecision(1e-7f));
    }

    @Test
    void refusesBadSettings() {
        assertThatThrownBy(() -> new FastAdam(0.1, 1.0, 0.999, 1e-8)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Adam needs learning rate >= 0, beta1 and beta2 in [0, 1) and epsilon > 0, got 0.1, 1.0,"
                        + " 0.999, 1.0E-8");
    }
}
