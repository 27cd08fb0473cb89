package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.loss.DistillationLoss;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The fast dense path against DL4J's own forward pass on the same network. The two call the BLAS differently (a gemm
 * into a row-major buffer vs DL4J's layers), and which kernel runs, so the last bits of a sum, depends on the CPU and
 * on OpenBLAS's core type: they are compared within {@link RoundingBound}, the rounding difference two float32
 * evaluations of the same network can have, derived per element. Where the fast path falls back to DL4J's
 * {@code output()}, the same code runs on both sides and the results are compared exactly.
 */
class DenseInferenceTest {

    /** 784 -> relu 64 -> tanh 32 -> identity 16 -> softmax 10. */
    static MultiLayerNetwork softmaxMlp(long seed) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(seed)
                .dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(784).nOut(64).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nIn(64).nOut(32).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nIn(32).nOut(16).activation(Activation.IDENTITY).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(16).nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        return net;
    }

    static INDArray rows(int n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(DataType.FLOAT, n, 784);
    }

    @Test
    void softmaxMlpGivesDl4jsPreSoftmaxLogitsForBatchesOf1_7And1024() {
        MultiLayerNetwork net = softmaxMlp(3);
        LogitModel model = new LogitModel(net);
        assertThat(model.fastPath()).isTrue();
        for (int n : new int[] {1024, 7, 1, 1024, 7}) { // after 1024 rows, 7 and 1 are row views of its buffers
            INDArray x = rows(n, n);
            INDArray z = model.logits(x);
            assertThat(z.shape()).containsExactly(n, 10);
            RoundingBound.assertLayersMatchDl4j(net, x, fastLayers(model, x), "batch " + n);
            assertThat(Transforms.softmax(z, true).equalsWithEps(net.output(x, false), 1e-4)).as("softmax of them")
                    .isTrue(); // pre-softmax values: softmax gives the output (loosely: the layers are checked above)
        }
    }

    @Test
    void identityOutputMlpGivesOutputForBatchesOf1_7And1024() {
        MultiLayerNetwork net = Architecture.parse("mlp:120,60", 0.5) // dropout: ignored at inference, as by DL4J
                .build(784, 10, DistillationLoss.hardLabelsOnly(), 1e-3, 5);
        LogitModel model = new LogitModel(net);
        assertThat(model.fastPath()).isTrue();
        for (int n : new int[] {1, 7, 1024, 7}) { // 1 then 7 then 1024: buffers re-allocated for bigger batches
            INDArray x = rows(n, 10 + n);
            RoundingBound.assertLayersMatchDl4j(net, x, fastLayers(model, x), "batch " + n);
        }
    }

    /** The same run twice gives the same bits: the fast path's buffers carry nothing from one call to the next. */
    @Test
    void repeatsItselfExactly() {
        LogitModel model = new LogitModel(softmaxMlp(4));
        INDArray x = rows(7, 27);
        float[] first = bits(model.logits(x));
        model.logits(rows(1024, 28));
        assertThat(bits(model.logits(x))).containsExactly(first);
    }

    /** The bound is tight enough to catch a wrong result: logits off by 1e-4 are outside it. */
    @Test
    void theRoundingBoundCatchesASmallError() {
        MultiLayerNetwork net = softmaxMlp(4);
        LogitModel model = new LogitModel(net);
        INDArray x = rows(7, 29);
        INDArray[] layers = fastLayers(model, x);
        RoundingBound.assertLayersMatchDl4j(net, x, layers, "fast path");
        layers[3] = layers[3].add(1e-4);
        assertThatThrownBy(() -> RoundingBound.assertLayersMatchDl4j(net, x, layers, "fast path"))
                .isInstanceOf(AssertionError.class).hasMessageContaining("fast path, layer 3: worst difference");
    }

    /** The fast path's output of every layer on {@code x}: the hidden layers' activations, then the logits. */
    static INDArray[] fastLayers(LogitModel model, INDArray x) {
        int last = model.network().getnLayers() - 1;
        INDArray[] out = new INDArray[last + 1];
        for (int l = 0; l < last; l++) {
            out[l] = model.logitsAndActivations(x, l)[1];
        }
        out[last] = model.logits(x);
        return out;
    }

    /** A hidden layer's activations (the label job's hint column) come from the logits' own pass, equal to DL4J's. */
    @Test
    void hiddenLayerActivationsFromTheLogitsPassEqualDl4jsForwardPass() {
        MultiLayerNetwork net = softmaxMlp(8);
        LogitModel model = new LogitModel(net);
        INDArray x = rows(7, 40);
        RoundingBound.assertLayersMatchDl4j(net, x, fastLayers(model, x), "fast path");
        for (int layer = 0; layer < 3; layer++) {
            INDArray[] both = model.logitsAndActivations(x, layer);
            assertThat(bits(both[0])).as("the same logits as a pass without the layer")
                    .containsExactly(bits(model.logits(x)));
            assertThat(both[1].shape()).containsExactly(net.feedForwardToLayer(layer, x, false).get(layer + 1).shape());
        }
        INDArray[] last = model.logitsAndActivations(x, 3); // the output layer: DL4J's pass, softmax probabilities
        assertThat(bits(last[1])).containsExactly(bits(net.output(x, false)));
        assertThat(model.logitsAndActivations(rows(0, 1), 1)[1].shape()).containsExactly(0, 32);
        assertThatThrownBy(() -> DenseInference.of(net).logitsAndLayer(x, 3))
                .hasMessage("layer 3 is not a dense hidden layer (0 to 2)");
    }

    /** The values in row-major order, to compare exactly ({@code INDArray.equals} allows 1e-5). */
    private static float[] bits(INDArray a) {
        return a.dup('c').data().asFloat();
    }

    @ParameterizedTest
    @ValueSource(strings = {"SIGMOID", "LEAKYRELU", "RELU6", "ELU", "SELU", "SOFTPLUS", "SOFTSIGN", "SWISH", "GELU",
        "MISH", "HARDTANH", "HARDSIGMOID", "RATIONALTANH", "RECTIFIEDTANH", "CUBE"})
    void everyCoveredHiddenActivationMatchesOutput(Activation activation) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(7)
                .dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(784).nOut(24).activation(activation).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(24).nOut(5)
                        .activation(Activation.IDENTITY).build())
                .build());
        net.init();
        LogitModel model = new LogitModel(net);
        assertThat(model.fastPath()).isTrue();
        INDArray x = rows(7, 30);
        RoundingBound.assertLayersMatchDl4j(net, x, fastLayers(model, x), activation.toString());
    }

    /**
     * A LeNet-style teacher takes the convolution front: its logits and its dense hidden layer's activations match
     * DL4J's within 1e-5 of their scale. The two sum each convolution in another order (im2col + one gemm vs DL4J's
     * layers), over at most 150 products here, so they differ by a few ulps per layer (measured on a family-26 EPYC: at
     * most 1.9e-7 of the scale); a wrong window, weight layout or bias is off by far more than 1e-5 (checked below with
     * a shifted input).
     */
    @Test
    void cnnTeacherTakesTheConvolutionFrontWithDl4jsLogits() {
        MultiLayerNetwork cnn = Architecture.parse("cnn:4,6:16", 0.5).build(784, 10,
                DistillationLoss.hardLabelsOnly(), 1e-3, 1);
        LogitModel model = new LogitModel(cnn);
        assertThat(model.fastPath()).as(model.fallbackReason()).isTrue();
        for (int n : new int[] {1, 7, 64}) {
            INDArray x = rows(n, 40 + n);
            INDArray fast = model.logits(x);
            INDArray dl4j = cnn.output(x, false);
            assertThat(maxDiff(fast, dl4j)).as("batch %d logits", n).isLessThan(1e-5 * scale(dl4j));
            INDArray[] both = model.logitsAndActivations(x, 4); // the dense hidden layer after two conv + pool blocks
            INDArray hidden = cnn.feedForwardToLayer(4, x, false).get(5);
            assertThat(maxDiff(both[1], hidden)).as("batch %d layer 4", n).isLessThan(1e-5 * scale(hidden));
            assertThat(bits(both[0])).containsExactly(bits(fast));
        }
        INDArray x = rows(3, 9);
        INDArray shifted = Nd4j.concat(1, x.get(NDArrayIndex.all(), NDArrayIndex.interval(1, 784)),
                x.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 1)));
        assertThat(maxDiff(model.logits(shifted), cnn.output(x, false))).as("a one-pixel shift is detected")
                .isGreaterThan(1e-3 * scale(cnn.output(x, false)));
        assertThat(model.logitsAndActivations(x, 1)[1].shape()).as("a pooling layer's activations: DL4J's")
                .containsExactly(3, 4 * 12 * 12);
    }

    @Test
    void cnnOutsideTheFrontFallsBackToOutputWithTheSameLogits() {
        MultiLayerNetwork cnn = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT)
                .seed(3).list()
                .layer(new org.deeplearning4j.nn.conf.layers.ConvolutionLayer.Builder(3, 3).padding(1, 1).nOut(2)
                        .activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(8).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(3).activation(Activation.IDENTITY)
                        .build())
                .setInputType(org.deeplearning4j.nn.conf.inputs.InputType.convolutionalFlat(28, 28, 1)).build());
        cnn.init();
        LogitModel model = new LogitModel(cnn);
        assertThat(model.fastPath()).isFalse();
        assertThat(model.fallbackReason()).isEqualTo("layer 0 (ConvolutionLayer) has padding 1x1");
        INDArray x = rows(7, 40);
        assertThat(bits(model.logits(x))).containsExactly(bits(cnn.output(x, false))); // the same call
    }

    private static double maxDiff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue();
    }

    /** The largest magnitude in {@code a}, at least 1 ({@code a} is left as it is). */
    private static double scale(INDArray a) {
        return Math.max(1, a.amaxNumber().doubleValue());
    }

    @Test
    void batchNormDoublePrecisionAndSigmoidOutputsFallBack() {
        MultiLayerNetwork bn = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT)
                .list()
                .layer(new DenseLayer.Builder().nIn(784).nOut(8).activation(Activation.RELU).build())
                .layer(new BatchNormalization.Builder().nOut(8).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(8).nOut(3)
                        .activation(Activation.IDENTITY).build())
                .build());
        bn.init();
        assertThat(new LogitModel(bn).fallbackReason()).isEqualTo("layer 1 is a BatchNormalization");
        INDArray x = rows(7, 50);
        assertThat(bits(new LogitModel(bn).logits(x))).containsExactly(bits(bn.output(x, false))); // the same call

        MultiLayerNetwork dbl = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE)
                .list()
                .layer(new DenseLayer.Builder().nIn(784).nOut(8).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(8).nOut(3)
                        .activation(Activation.IDENTITY).build())
                .build());
        dbl.init();
        assertThat(new LogitModel(dbl).fallbackReason()).isEqualTo("layer 0 has no float32 weight matrix");

        MultiLayerNetwork sigmoid = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(784).nOut(8).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.XENT).nIn(8).nOut(3)
                        .activation(Activation.SIGMOID).build())
                .build());
        sigmoid.init();
        assertThat(new LogitModel(sigmoid).fastPath()).isFalse();
    }

    @Test
    void aFinalDenseLayerWithIdentityActivationGivesItsOutputAsLogits() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(9)
                .dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(784).nOut(16).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nIn(16).nOut(4).activation(Activation.IDENTITY).build())
                .build());
        net.init();
        LogitModel model = new LogitModel(net);
        assertThat(model.fastPath()).isTrue();
        INDArray x = rows(7, 60);
        RoundingBound.assertLayersMatchDl4j(net, x, fastLayers(model, x), "fast path");
        assertThat(model.logits(x).equalsWithEps(net.output(x, false), 1e-4)).isTrue(); // the output, not its log
        assertThat(model.logits(x).minNumber().doubleValue()).isNegative(); // raw values, not log(output)
    }

    @Test
    void concurrentCallersOnOneModelGetTheirOwnResults() throws Exception {
        MultiLayerNetwork net = softmaxMlp(11);
        LogitModel model = new LogitModel(net);
        List<INDArray> inputs = new ArrayList<>();
        List<INDArray> expected = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            INDArray x = rows(i % 2 == 0 ? 64 : 5, 100 + i);
            inputs.add(x);
            expected.add(model.logits(x)); // the fast path alone, so each thread's result must repeat it exactly
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int offset = t;
                results.add(pool.submit(() -> {
                    boolean ok = true;
                    for (int rep = 0; rep < 20; rep++) {
                        int i = (rep * 3 + offset) % inputs.size();
                        ok &= java.util.Arrays.equals(bits(model.logits(inputs.get(i))), bits(expected.get(i)));
                    }
                    return ok;
                }));
            }
            for (Future<Boolean> r : results) {
                assertThat(r.get()).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void rejectsFeaturesOfTheWrongWidthWithTheShape() {
        LogitModel model = new LogitModel(softmaxMlp(1));
        assertThatThrownBy(() -> model.logits(Nd4j.rand(DataType.FLOAT, 2, 783)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("features must be [rows, 784], got [2, 783]");
    }

    @Test
    void acceptsDoubleFeatures() {
        MultiLayerNetwork net = softmaxMlp(12);
        INDArray x = rows(7, 70);
        LogitModel model = new LogitModel(net);
        assertThat(bits(model.logits(x.castTo(DataType.DOUBLE)))).containsExactly(bits(model.logits(x)));
    }
}
