package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.loss.TargetLayout;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The Java kernels of the dense step against the ND4J operations they replace. Bias plus ReLU and ReLU's backprop are
 * the same float arithmetic, so within 1e-7 (a ulp of values below 1); the bias gradient sums in double where ND4J
 * sums in float, so within 1e-5 on sums of 40 values of magnitude <= 1. Whole steps: the Java kernels with the fused
 * Adam pass, and with DL4J's updater, against the ND4J-only step within 1e-5 after 3 epochs (as
 * {@code DenseTrainingStepTest} holds the step to DL4J's {@code fit}).
 */
class DenseKernelsTest {
    private static final double SAME_ARITHMETIC = 1e-7;

    @Test
    void biasReluIsNd4jsAddRowVectorThenRelu() {
        INDArray z = Nd4j.rand(DataType.FLOAT, 50, 13).subi(0.5);
        INDArray bias = Nd4j.rand(DataType.FLOAT, 1, 13).subi(0.5);
        // rows 10..49 of a larger buffer: a view with an offset, as the step's buffers are for a short minibatch
        INDArray rows = z.dup().get(NDArrayIndex.interval(10, 50), NDArrayIndex.all());
        INDArray act = Nd4j.create(DataType.FLOAT, 60, 13).get(NDArrayIndex.interval(20, 60), NDArrayIndex.all());
        INDArray expectedZ = rows.dup().addiRowVector(bias);
        INDArray expectedAct = Activation.RELU.getActivationFunction().getActivation(expectedZ.dup(), true);
        DenseKernels.biasRelu(rows, bias, act, 40, 13);
        assertThat(rows.equalsWithEps(expectedZ, SAME_ARITHMETIC)).isTrue();
        assertThat(act.equalsWithEps(expectedAct, SAME_ARITHMETIC)).isTrue();
        assertThat(act.minNumber().doubleValue()).isZero(); // some units were negative before the ReLU
        DenseKernels.biasRelu(rows, bias, null, 40, 13); // bias only (an output layer)
        assertThat(rows.equalsWithEps(expectedZ.addiRowVector(bias), SAME_ARITHMETIC)).isTrue();
    }

    @Test
    void reluBackpropAndBiasGradientAreNd4js() {
        INDArray z = Nd4j.rand(DataType.FLOAT, 40, 9).subi(0.5);
        INDArray eps = Nd4j.rand(DataType.FLOAT, 40, 9).subi(0.5);
        INDArray expected = Activation.RELU.getActivationFunction().backprop(z.dup(), eps.dup()).getFirst();
        INDArray got = eps.dup();
        DenseKernels.reluBackprop(z, got, 40, 9);
        assertThat(got.equalsWithEps(expected, SAME_ARITHMETIC)).isTrue();
        INDArray sums = Nd4j.create(DataType.FLOAT, 1, 9);
        DenseKernels.columnSums(eps, sums, 40, 9);
        assertThat(sums.equalsWithEps(eps.sum(true, 0), 1e-5)).isTrue();
    }

    @Test
    void kernelsAndFusedAdamTrainAsTheNd4jStep() {
        List<DataSet> batches = batches();
        MultiLayerNetwork reference = student();
        MultiLayerNetwork kernels = student();
        MultiLayerNetwork fused = student();
        INDArray start = reference.params().dup();
        DenseTrainingStep nd4j = DenseTrainingStep.nd4jOnly(reference);
        DenseTrainingStep dl4jUpdater = DenseTrainingStep.withDl4jUpdater(kernels);
        DenseTrainingStep all = DenseTrainingStep.of(fused);
        for (int epoch = 0; epoch < 3; epoch++) {
            for (DataSet d : batches) {
                nd4j.fit(d);
                dl4jUpdater.fit(d);
                all.fit(d);
            }
        }
        assertThat(reference.params().sub(start).norm2Number().doubleValue()).isGreaterThan(1e-2);
        for (MultiLayerNetwork net : List.of(kernels, fused)) {
            assertThat(net.params().equalsWithEps(reference.params(), 1e-5)).isTrue();
            assertThat(net.getUpdater().getStateViewArray().equalsWithEps(
                    reference.getUpdater().getStateViewArray(), 1e-5)).isTrue();
            assertThat(net.score()).isCloseTo(reference.score(), org.assertj.core.data.Offset.offset(1e-5));
            assertThat(net.getIterationCount()).isEqualTo(reference.getIterationCount());
        }
    }

    private static MultiLayerNetwork student() {
        return Architecture.parse("mlp:24,12", 0).build(30, 4, new DistillationLoss(2.0, 0.5), 0.01, 5);
    }

    /** Seeded KD minibatches of 16 rows and a short last one (7 rows: views into the step's buffers). */
    private static List<DataSet> batches() {
        Random rng = new Random(3);
        List<DataSet> out = new ArrayList<>();
        for (int b = 0; b < 5; b++) {
            int n = b == 4 ? 7 : 16;
            float[] x = new float[n * 30];
            float[] y = new float[n * TargetLayout.width(4)];
            for (int i = 0; i < n; i++) {
                float[] soft = {0.1f, 0.2f, 0.3f, 0.4f};
                for (int j = 0; j < 30; j++) {
                    x[i * 30 + j] = rng.nextFloat();
                }
                int hard = rng.nextInt(4);
                float[] row = new float[TargetLayout.width(4)];
                TargetLayout.fill(row, soft, hard, 4);
                System.arraycopy(row, 0, y, i * row.length, row.length);
            }
            out.add(new DataSet(Nd4j.create(x, new long[] {n, 30}, DataType.FLOAT),
                    Nd4j.create(y, new long[] {n, TargetLayout.width(4)}, DataType.FLOAT)));
        }
        return out;
    }
}
