package org.distillery.jobs.train.averaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult;
import org.distillery.jobs.Fixtures;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.nn.Architecture;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The round's wire formats: worker results summed and averaged as DL4J does, and the bulk broadcast tuple. */
class RoundSumTest {

    @Test
    void sumsAndAveragesWorkerResultsSkippingWorkersWithoutData() {
        INDArray p1 = Nd4j.createFromArray(new float[][] {{1f, 2f, 3f}});
        INDArray p2 = Nd4j.createFromArray(new float[][] {{3f, 6f, -3f}});
        RoundSum sum = RoundSum.of(result(p1, p1.mul(10), 0.5))
                .add(RoundSum.of(new ParameterAveragingTrainingResult(null, null, 0, null, null, null)))
                .add(RoundSum.of(result(p2, p2.mul(10), 1.5)));
        assertThat(sum.count).isEqualTo(2);
        assertThat(sum.score).isEqualTo(2.0);
        RoundSum mean = sum.averaged();
        assertThat(mean.params).containsExactly(2f, 4f, 0f);
        assertThat(mean.updater).containsExactly(20f, 40f, 0f);
        assertThat(RoundSum.EMPTY.add(RoundSum.EMPTY).count).isZero();
        assertThat(RoundSum.of(result(p1, null, 1)).updater).as("SGD keeps no updater state").isNull();
    }

    @Test
    void bulkCopiesKeepValuesShapesAndViewsApart() {
        INDArray matrix = Nd4j.rand(3, 4).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT);
        INDArray column = matrix.getColumn(1); // a strided view: its own values, not the buffer's
        assertThat(RoundSum.floats(column)).containsExactly(column.toFloatVector());
        INDArray back = RoundSum.array(RoundSum.floats(matrix), matrix.shape());
        assertThat(back).isEqualTo(matrix);
        assertThat(back.shape()).containsExactly(3, 4);
    }

    @Test
    void broadcastTupleReadsBackAsDl4jsTupleWithTheSameConfigurationAndArrays() throws Exception {
        MultiLayerNetwork net = new Architecture(List.of(8), 0).build(Fixtures.FEATURES, Fixtures.CLASSES,
                new DistillationLoss(2, 0.5), 0.01, 5);
        INDArray updater = net.getUpdater().getStateViewArray().assign(0.25);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(new RoundMaster.BulkTuple(net.getLayerWiseConfigurations(), net.params(), updater));
        }
        Object read;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            read = in.readObject();
        }
        assertThat(read).isExactlyInstanceOf(NetBroadcastTuple.class);
        NetBroadcastTuple tuple = (NetBroadcastTuple) read;
        assertThat(tuple.getConfiguration().toJson()).isEqualTo(net.getLayerWiseConfigurations().toJson());
        assertThat(tuple.getParameters()).isEqualTo(net.params());
        assertThat(tuple.getUpdaterState()).isEqualTo(updater);
        // 4 bytes a value and little else: ND4J's own serialisation of the same arrays is what the tuple replaces
        long values = net.params().length() + updater.length();
        assertThat(bytes.size()).isBetween((int) (4 * values), (int) (4 * values) + 16_384);
    }

    private static ParameterAveragingTrainingResult result(INDArray params, INDArray updater, double score) {
        return new ParameterAveragingTrainingResult(params, updater, score, null, null, null);
    }
}
