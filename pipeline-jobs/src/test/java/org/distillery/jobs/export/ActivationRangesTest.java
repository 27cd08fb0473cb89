package org.distillery.jobs.export;

import static org.assertj.core.api.Assertions.assertThat;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Calibration points and ranges: min/max, percentiles, and which tensors are calibrated. */
class ActivationRangesTest {
    private final MultiLayerNetwork net = Fixtures.teacher(3, 1); // 16 -> 32 (ReLU) -> 4

    @Test
    void minMaxAndPercentilesOfTheInputAndTheHiddenLayer() {
        // 1000 rows whose features are i / 999 for row i: the input's values are 0 .. 1, each row one value
        float[] x = new float[1000 * Fixtures.FEATURES];
        for (int i = 0; i < x.length; i++) {
            x[i] = (i / Fixtures.FEATURES) / 999f;
        }
        INDArray rows = Nd4j.create(x, new long[] {1000, Fixtures.FEATURES}, DataType.FLOAT);
        NetworkPlan plan = NetworkPlan.of(net);
        ActivationRanges minMax = ActivationRanges.measure(net, plan, rows, 100);
        assertThat(minMax.input().lo()).isZero();
        assertThat(minMax.input().hi()).isEqualTo(1f);
        assertThat(minMax.outputs()).containsOnlyKeys(0); // the hidden layer; the logits stay float
        assertThat(minMax.output(0).lo()).isGreaterThanOrEqualTo(0f); // after ReLU
        float hiddenMax = net.feedForward(rows, false).get(1).maxNumber().floatValue();
        // calibration runs the rows in batches, this check all at once: another gemm call, the same value to rounding
        assertThat(minMax.output(0).hi()).isCloseTo(hiddenMax, org.assertj.core.api.Assertions.within(1e-5f * hiddenMax));

        ActivationRanges p99 = ActivationRanges.measure(net, plan, rows, 99);
        // nearest rank over 16,000 values, 16 per row: the 1st and 99th percentiles are rows 9 and 989
        assertThat(p99.input().lo()).isEqualTo(9 / 999f);
        assertThat(p99.input().hi()).isEqualTo(989 / 999f);
        assertThat(p99.output(0).hi()).isLessThan(hiddenMax);
        assertThat(p99.describe()).hasSize(2);
        assertThat(p99.describe().get(1)).containsEntry("tensor", "layer 0 output");
    }
}
