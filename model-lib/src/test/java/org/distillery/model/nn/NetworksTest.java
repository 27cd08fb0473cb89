package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.loss.DistillationLoss;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.ops.transforms.Transforms;

class NetworksTest {
    @Test
    void parsesSpecsAndCountsParameters() {
        Architecture a = Architecture.parse("mlp:1200,1200", 0.5);
        assertThat(a.hidden()).containsExactly(1200, 1200);
        assertThat(a.build(784, 10, DistillationLoss.hardLabelsOnly(), 1e-3, 1).numParams()).isEqualTo(2_395_210L);
        MultiLayerNetwork net = Architecture.parse("mlp:64", 0).build(784, 10, DistillationLoss.hardLabelsOnly(), 1e-3, 1);
        assertThat(net.numParams()).isEqualTo(784 * 64 + 64 + 64 * 10 + 10);
        assertThat(new LogitModel(net).inputs()).isEqualTo(784);
        assertThatThrownBy(() -> Architecture.parse("mlp:64,x", 0))
                .hasMessage("architecture must look like 'mlp:1200,1200' or 'cnn:20,50:500', got 'mlp:64,x'");
        assertThatThrownBy(() -> Architecture.parse("mlp:0", 0)).hasMessage("layer widths must be > 0, got [0]");
        assertThatThrownBy(() -> Architecture.parse("mlp:4", 1.0)).hasMessage("dropout must be in [0, 1), got 1.0");
    }

    @Test
    void cnnsReadFlatSquareImagesAndOutputLogits() {
        Architecture cnn = Architecture.parse("cnn:4,6:16", 0.3);
        assertThat(cnn.spec()).isEqualTo("cnn:4,6:16");
        MultiLayerNetwork net = cnn.build(784, 10, new DistillationLoss(2, 0.5), 1e-3, 1);
        // conv 5x5x1x4 + 4, conv 5x5x4x6 + 6, dense (4*4*6)x16 + 16, out 16x10 + 10
        assertThat(net.numParams()).isEqualTo(104 + 606 + 1552 + 170);
        LogitModel model = new LogitModel(net);
        assertThat(model.inputs()).isEqualTo(784);
        assertThat(model.classes()).isEqualTo(10);
        assertThat(model.logits(Nd4j.rand(DataType.FLOAT, 3, 784)).shape()).containsExactly(3, 10);
        assertThatThrownBy(() -> cnn.build(780, 10, DistillationLoss.hardLabelsOnly(), 1e-3, 1))
                .hasMessage("a cnn needs square single-channel images, got 780 features");
    }

    @Test
    void softmaxTeachersYieldTheirPreActivationAsLogits() {
        MultiLayerNetwork softmaxNet = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3)
                .dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(5).nOut(6).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(6).nOut(3)
                        .activation(Activation.SOFTMAX).build())
                .build());
        softmaxNet.init();
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 5);
        INDArray logits = new LogitModel(softmaxNet).logits(x);
        assertThat(Transforms.softmax(logits, true).equalsWithEps(softmaxNet.output(x), 1e-6)).isTrue();
        INDArray hidden = softmaxNet.feedForward(x, false).get(1);
        INDArray pre = hidden.mmul(softmaxNet.getOutputLayer().getParam("W"))
                .addiRowVector(softmaxNet.getOutputLayer().getParam("b"));
        assertThat(logits.equalsWithEps(pre, 1e-6)).isTrue();
    }

    @Test
    void modelZipsRoundTripAndHash() {
        MultiLayerNetwork net = new Architecture(List.of(4), 0).build(3, 2, new DistillationLoss(2, 0.5), 1e-3, 1);
        byte[] zip = Models.toBytes(net, false);
        MultiLayerNetwork back = Models.fromBytes(zip, "mem");
        assertThat(back.params()).isEqualTo(net.params());
        assertThat(Models.sha256(zip)).isEqualTo(Models.sha256(zip.clone())).hasSize(64);
        assertThatThrownBy(() -> Models.fromBytes(new byte[] {1, 2, 3}, "junk.zip"))
                .hasMessageStartingWith("not a readable DL4J MultiLayerNetwork model zip: junk.zip");
    }
}
