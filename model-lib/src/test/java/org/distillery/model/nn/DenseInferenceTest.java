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
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The fast dense path against DL4J's own forward pass on the same network. Observed here (ND4J 1.0.0-M2.1 CPU,
 * OpenBLAS, 1 and 2 OpenMP threads): bit-identical, both to {@code output()} of identity-output MLPs and to the
 * pre-softmax logits of softmax MLPs. The contract is 1e-5; {@link #bitIdenticalToDl4j} pins the bit-identity
 * separately, so that a BLAS or ND4J change that breaks only it is told apart from a wrong result.
 */
class DenseInferenceTest {
    private static final double EPS = 1e-5;

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

    /** DL4J's pre-softmax logits: its own forward pass to the last hidden layer, then W and b of the output layer. */
    static INDArray dl4jPreSoftmax(MultiLayerNetwork net, INDArray x) {
        int last = net.getnLayers() - 1;
        INDArray hidden = net.feedForwardToLayer(last - 1, x, false).get(last);
        return hidden.mmul(net.getOutputLayer().getParam("W")).addiRowVector(net.getOutputLayer().getParam("b"));
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
            assertThat(z.equalsWithEps(dl4jPreSoftmax(net, x), EPS)).as("batch %d", n).isTrue();
            assertThat(Transforms.softmax(z, true).equalsWithEps(net.output(x, false), EPS)).isTrue();
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
            assertThat(model.logits(x).equalsWithEps(net.output(x, false), EPS)).as("batch %d", n).isTrue();
        }
    }

    @Test
    void bitIdenticalToDl4j() {
        MultiLayerNetwork softmax = softmaxMlp(4);
        MultiLayerNetwork identity = Architecture.parse("mlp:120,60", 0).build(784, 10,
                DistillationLoss.hardLabelsOnly(), 1e-3, 6);
        for (int n : new int[] {1, 7, 1024}) {
            INDArray x = rows(n, 20 + n);
            assertThat(bits(new LogitModel(softmax).logits(x))).containsExactly(bits(dl4jPreSoftmax(softmax, x)));
            assertThat(bits(new LogitModel(identity).logits(x))).containsExactly(bits(identity.output(x, false)));
        }
    }

    /** A hidden layer's activations (the label job's hint column) come from the logits' own pass, equal to DL4J's. */
    @Test
    void hiddenLayerActivationsFromTheLogitsPassEqualDl4jsForwardPass() {
        MultiLayerNetwork net = softmaxMlp(8);
        LogitModel model = new LogitModel(net);
        INDArray x = rows(7, 40);
        for (int layer = 0; layer < 3; layer++) {
            INDArray[] both = model.logitsAndActivations(x, layer);
            assertThat(bits(both[0])).as("logits").containsExactly(bits(dl4jPreSoftmax(net, x)));
            INDArray dl4j = net.feedForwardToLayer(layer, x, false).get(layer + 1);
            assertThat(both[1].shape()).containsExactly(dl4j.shape());
            assertThat(both[1].equalsWithEps(dl4j, EPS)).as("layer " + layer).isTrue();
        }
        INDArray[] last = model.logitsAndActivations(x, 3); // the output layer: DL4J's pass, softmax probabilities
        assertThat(last[1].equalsWithEps(net.output(x, false), EPS)).isTrue();
        assertThat(model.logitsAndActivations(rows(0, 1), 1)[1].shape()).containsExactly(0, 32);
        assertThatThrownBy(() -> DenseInference.of(net).logitsAndLayer(x, 3))
                .hasMessage("layer 3 is not a hidden layer (0 to 2)");
    }

    /** The values in row-major order, compared exactly ({@code INDArray.equals} allows 1e-5). */
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
        assertThat(model.logits(x).equalsWithEps(net.output(x, false), EPS)).isTrue();
    }

    @Test
    void cnnTeacherFallsBackToOutputWithTheSameLogits() {
        MultiLayerNetwork cnn = Architecture.parse("cnn:4,6:16", 0).build(784, 10,
                DistillationLoss.hardLabelsOnly(), 1e-3, 1);
        LogitModel model = new LogitModel(cnn);
        assertThat(model.fastPath()).isFalse();
        assertThat(model.fallbackReason()).isEqualTo("layer 0 is a ConvolutionLayer");
        INDArray x = rows(7, 40);
        assertThat(model.logits(x).equalsWithEps(cnn.output(x, false), EPS)).isTrue();
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
        assertThat(new LogitModel(bn).logits(x).equalsWithEps(bn.output(x, false), EPS)).isTrue();

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
        assertThat(model.logits(x).equalsWithEps(net.output(x, false), EPS)).isTrue();
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
            expected.add(dl4jPreSoftmax(net, x));
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
                        ok &= model.logits(inputs.get(i)).equalsWithEps(expected.get(i), EPS);
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
        assertThat(new LogitModel(net).logits(x.castTo(DataType.DOUBLE)).equalsWithEps(dl4jPreSoftmax(net, x), EPS))
                .isTrue();
    }
}
