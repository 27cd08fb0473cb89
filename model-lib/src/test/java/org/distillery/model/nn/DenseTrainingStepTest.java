package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.loss.TargetLayout;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.linalg.schedule.StepSchedule;

class DenseTrainingStepTest {
    private static final int FEATURES = 20;
    private static final int CLASSES = 5;

    /** KD minibatches in the trainer's label layout; every third row has no hard label; the last batch is short. */
    private static List<DataSet> kdBatches(int count) {
        return kdBatches(count, FEATURES);
    }

    private static List<DataSet> kdBatches(int count, int features) {
        Random rng = new Random(11);
        List<DataSet> out = new ArrayList<>();
        for (int b = 0; b < count; b++) {
            int n = b == count - 1 ? 7 : 16;
            float[] x = new float[n * features];
            float[] y = new float[n * TargetLayout.width(CLASSES)];
            for (int i = 0; i < n; i++) {
                float[] logits = new float[CLASSES];
                for (int j = 0; j < features; j++) {
                    x[i * features + j] = rng.nextFloat();
                    logits[j % CLASSES] += 3 * x[i * features + j] * (j % 3 - 1) * FEATURES / features;
                }
                float[] row = new float[TargetLayout.width(CLASSES)];
                TargetLayout.fill(row, SoftTargets.soften(logits, 2.0), i % 3 == 0 ? -1 : SoftTargets.argmax(logits),
                        CLASSES);
                System.arraycopy(row, 0, y, i * row.length, row.length);
            }
            out.add(new DataSet(Nd4j.create(x, new long[] {n, features}, DataType.FLOAT),
                    Nd4j.create(y, new long[] {n, TargetLayout.width(CLASSES)}, DataType.FLOAT)));
        }
        return out;
    }

    private static MultiLayerNetwork student() {
        return Architecture.parse("mlp:16,8", 0).build(FEATURES, CLASSES, new DistillationLoss(2.0, 0.5), 0.01, 7);
    }

    /** {@link #assertSameTraining} on two networks of {@code conf} that start from the same parameters. */
    private static void assertSameTraining(MultiLayerConfiguration conf, List<DataSet> batches, int epochs) {
        MultiLayerNetwork a = new MultiLayerNetwork(conf.clone());
        a.init();
        MultiLayerNetwork b = new MultiLayerNetwork(conf.clone());
        b.init(a.params().dup(), true);
        assertSameTraining(a, b, batches, epochs);
    }

    /**
     * Fits {@code a} by DL4J and {@code b} by the step on the same batches and checks they stay together: within 1e-5,
     * as the two sum gradients in another order (different BLAS calls). Measured: at most 1.8e-7 on parameters and
     * 1.5e-8 on updater state (a few ulps) on a family-26 EPYC with and without OPENBLAS_CORETYPE=Haswell, so 1e-5
     * leaves a margin of 50 for other kernels while a wrong step (off by a learning rate, 1e-3 or more) fails.
     * Each step starts from the same seed of ND4J's random generator on both sides, so dropout draws the same masks.
     */
    private static void assertSameTraining(MultiLayerNetwork a, MultiLayerNetwork b, List<DataSet> batches,
                                           int epochs) {
        INDArray start = a.params().dup();
        DenseTrainingStep step = DenseTrainingStep.of(b);
        assertThat(step).as(DenseTrainingStep.unsupported(b)).isNotNull();
        long seed = 0;
        for (int e = 0; e < epochs; e++) {
            for (DataSet d : batches) {
                seed++;
                Nd4j.getRandom().setSeed(seed);
                a.fit(d);
                Nd4j.getRandom().setSeed(seed);
                step.fit(d);
                assertThat(b.score()).isCloseTo(a.score(), org.assertj.core.data.Offset.offset(1e-5));
            }
        }
        assertThat(a.params().sub(start).norm2Number().doubleValue()).as("training moved the parameters")
                .isGreaterThan(0.1);
        assertThat(b.getIterationCount()).isEqualTo(a.getIterationCount()).isEqualTo(epochs * batches.size());
        assertThat(b.params().equalsWithEps(a.params(), 1e-5))
                .as("max |diff| %s", Nd4j.math().abs(b.params().sub(a.params())).maxNumber()).isTrue();
        assertThat(b.getUpdater().getStateViewArray().equalsWithEps(a.getUpdater().getStateViewArray(), 1e-5))
                .isTrue();
    }

    @Test
    void takesDl4jsStepsOnADistillationStudent() {
        assertSameTraining(student(), student(), kdBatches(6), 3);
    }

    @Test
    void takesDl4jsStepsWithDropout() {
        Architecture arch = Architecture.parse("mlp:16,8", 0.3);
        assertSameTraining(arch.build(FEATURES, CLASSES, new DistillationLoss(2.0, 0.5), 0.01, 7),
                arch.build(FEATURES, CLASSES, new DistillationLoss(2.0, 0.5), 0.01, 7), kdBatches(6), 2);
    }

    /** The demo teacher's shape, small: two 5x5 convolutions with 2x2 max pooling, a dense layer, dropout. */
    @Test
    void takesDl4jsStepsOnALeNetWithDropout() {
        Architecture arch = Architecture.parse("cnn:3,4:12", 0.5);
        MultiLayerNetwork a = arch.build(16 * 16, CLASSES, new DistillationLoss(2.0, 0.5), 0.01, 7);
        MultiLayerNetwork b = arch.build(16 * 16, CLASSES, new DistillationLoss(2.0, 0.5), 0.01, 7);
        assertSameTraining(a, b, kdBatches(5, 16 * 16), 2);
    }

    /**
     * Two input channels, a non-square strided kernel, identity activation, overlapping pooling windows and a
     * schedule: the layout and index arithmetic beyond LeNet's, through DL4J's own updater.
     */
    @Test
    void takesDl4jsStepsOnOtherConvolutionShapes() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(5).dataType(DataType.FLOAT)
                .updater(new Adam(new StepSchedule(ScheduleType.ITERATION, 0.02, 0.5, 3))).list()
                .layer(new ConvolutionLayer.Builder(3, 2).stride(1, 2).nOut(3).activation(Activation.IDENTITY).build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(3, 3).stride(2, 1)
                        .build())
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(6).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(new DistillationLoss(2.0, 0.5)).nOut(CLASSES)
                        .activation(Activation.IDENTITY).build())
                .setInputType(org.deeplearning4j.nn.conf.inputs.InputType.convolutionalFlat(9, 10, 2)).build();
        assertSameTraining(conf, kdBatches(4, 2 * 9 * 10), 2);
    }

    @Test
    void takesDl4jsStepsWithAnotherLossActivationsAndALearningRateSchedule() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.FLOAT)
                .updater(new Adam(new StepSchedule(ScheduleType.ITERATION, 0.05, 0.5, 4))).list()
                .layer(new DenseLayer.Builder().nIn(FEATURES).nOut(12).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nOut(6).activation(Activation.SIGMOID).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(org.deeplearning4j.nn.conf.inputs.InputType.feedForward(FEATURES)).build();
        List<DataSet> batches = new ArrayList<>();
        for (DataSet d : kdBatches(5)) { // the hard half of the layout, one-hot; unlabelled rows masked out
            INDArray y = d.getLabels().get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(CLASSES, 2 * CLASSES)).dup();
            INDArray mask = y.sum(true, 1);
            for (long i = 0; i < y.size(0); i++) {
                if (mask.getDouble(i, 0) == 0) {
                    y.putScalar(i, 0, 1f);
                }
            }
            batches.add(new DataSet(d.getFeatures(), y, null, mask));
        }
        assertSameTraining(conf, batches, 2);
    }

    @Test
    void fitCarriesOnFromItsParametersAndUpdaterState() {
        MultiLayerNetwork a = student();
        MultiLayerNetwork b = student();
        List<DataSet> batches = kdBatches(4);
        DenseTrainingStep step = DenseTrainingStep.of(b);
        for (DataSet d : batches) {
            a.fit(d);
            step.fit(d);
        }
        for (DataSet d : batches) { // DL4J's fit takes over the network the step trained
            a.fit(d);
            b.fit(d);
        }
        assertThat(b.params().equalsWithEps(a.params(), 1e-5)).isTrue();
    }

    /** A front that starts with max pooling: its first stage has no input gradient to pass on. */
    @Test
    void takesDl4jsStepsWhenPoolingComesFirst() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(9).dataType(DataType.FLOAT)
                .updater(new Adam(0.01)).list()
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                        .build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(3).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(new DistillationLoss(2.0, 0.5)).nOut(CLASSES)
                        .activation(Activation.IDENTITY).build())
                .setInputType(org.deeplearning4j.nn.conf.inputs.InputType.convolutionalFlat(12, 12, 1)).build();
        assertSameTraining(conf, kdBatches(4, 12 * 12), 2);
    }

    /** A 3x3 convolution with {@code padding} followed by {@code pool}, a dense layer and an output layer. */
    private static MultiLayerNetwork cnn(SubsamplingLayer pool, int padding) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT)
                .list()
                .layer(new ConvolutionLayer.Builder(3, 3).padding(padding, padding).nOut(2)
                        .activation(Activation.RELU).build())
                .layer(pool)
                .layer(new DenseLayer.Builder().nOut(4).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder().nOut(2).build())
                .setInputType(org.deeplearning4j.nn.conf.inputs.InputType.convolutionalFlat(8, 8, 1)).build());
        net.init();
        return net;
    }

    @Test
    void namesWhatItDoesNotCover() {
        assertThat(DenseTrainingStep.unsupported(cnn(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.AVG)
                .kernelSize(2, 2).stride(2, 2).build(), 0)))
                .isEqualTo("layer 1 (SubsamplingLayer) pools by AVG");
        assertThat(DenseTrainingStep.unsupported(cnn(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX)
                .kernelSize(2, 2).stride(2, 2).build(), 1)))
                .isEqualTo("layer 0 (ConvolutionLayer) has padding 1x1");
        MultiLayerNetwork l2 = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().l2(1e-4).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(3).build())
                .layer(new OutputLayer.Builder().nIn(3).nOut(2).build()).build());
        l2.init();
        assertThat(DenseTrainingStep.unsupported(l2)).isEqualTo("layer 0 has regularization");
        assertThat(DenseTrainingStep.of(l2)).isNull();
        MultiLayerNetwork covered = student();
        DenseTrainingStep step = DenseTrainingStep.of(covered);
        DataSet wrong = new DataSet(Nd4j.zeros(DataType.FLOAT, 3, FEATURES + 1), Nd4j.zeros(DataType.FLOAT, 3,
                TargetLayout.width(CLASSES)));
        assertThatThrownBy(() -> step.fit(wrong)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("features must be [rows, 20], got [3, 21]");
    }
}
