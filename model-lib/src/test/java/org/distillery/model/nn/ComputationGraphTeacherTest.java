package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Teachers saved as DL4J ComputationGraph zips: single chains are read as the equivalent network, others refused. */
class ComputationGraphTeacherTest {
    private static byte[] zip(ComputationGraph g) throws Exception {
        try (ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            ModelSerializer.writeModel(g, out, false);
            return out.toByteArray();
        }
    }

    @Test
    void aChainGraphReadsAsTheSameNetwork() throws Exception {
        ComputationGraph g = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(3).graphBuilder()
                .addInputs("in")
                .addLayer("h1", new DenseLayer.Builder().nIn(8).nOut(6).activation(Activation.RELU).build(), "in")
                .addLayer("h2", new DenseLayer.Builder().nIn(6).nOut(5).activation(Activation.TANH).build(), "h1")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(5).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "h2")
                .setOutputs("out").build());
        g.init();
        MultiLayerNetwork net = Models.fromBytes(zip(g), "graph.zip");
        assertThat(net.getnLayers()).isEqualTo(3);
        assertThat(net.params()).isEqualTo(g.params());
        INDArray x = Nd4j.rand(DataType.FLOAT, 7, 8);
        // the same layers on the same parameters, but a graph's forward pass, not the network's: compared within the
        // rounding difference of the pre-softmax values (assertj's isEqualTo on INDArrays allows 1e-5, a guess)
        INDArray[] graphLayers = new INDArray[3];
        for (int l = 0; l < 2; l++) {
            graphLayers[l] = g.feedForward(x, false).get("h" + (l + 1));
        }
        graphLayers[2] = graphLayers[1].mmul(g.getLayer("out").getParam("W")).addiRowVector(g.getLayer("out").getParam("b"));
        RoundingBound.assertLayersMatchDl4j(net, x, graphLayers, "graph");
        LogitModel logits = new LogitModel(net);
        assertThat(logits.inputs()).isEqualTo(8);
        assertThat(logits.classes()).isEqualTo(3);
    }

    @Test
    void otherGraphsAreRefusedNamingTheProblem() throws Exception {
        ComputationGraph g = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(3).graphBuilder()
                .addInputs("in")
                .addLayer("a", new DenseLayer.Builder().nIn(8).nOut(4).build(), "in")
                .addLayer("b", new DenseLayer.Builder().nIn(8).nOut(4).build(), "in")
                .addVertex("m", new MergeVertex(), "a", "b")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(8).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "m")
                .setOutputs("out").build());
        g.init();
        assertThatThrownBy(() -> Models.fromBytes(zip(g), "branchy.zip"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("ComputationGraph teacher branchy.zip branches or merges at in");
    }
}
