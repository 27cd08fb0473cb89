package org.distillery.jobs.train.averaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.nn.Architecture;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;

/**
 * How an epoch's rounds run is picked once per training, from the engine settings, the network and the Spark context,
 * with the reason; the exchange's fallback switches to round jobs at the first failed epoch and stays there.
 */
class RoundRunnersTest extends SparkTestBase {
    private static final TrainerSettings TWO = new TrainerSettings(2, 8, 3, 0, 99);

    @Test
    void theEngineSettingsPickTheRunner() {
        assertThat(choose(net(), TWO, engine("direct", false, "exchange"))).isInstanceOf(ExchangeFallback.class);
        assertThat(choose(net(), TWO, engine("direct", false, "jobs"))).isInstanceOf(RoundJobs.class);
        assertThat(choose(net(), TWO, engine("export", false, "jobs"))).isInstanceOf(ExportedRoundJobs.class);
        assertThat(choose(net(), TWO, engine("export", false, "exchange"))).isInstanceOf(ExportedRoundJobs.class);
        assertThat(why(net(), TWO, engine("export", false, "exchange"))).isEqualTo("the export approach fits from paths");
        assertThat(choose(net(), TWO, engine("direct", true, "exchange"))).isInstanceOf(RoundJobs.class);
        assertThat(why(net(), TWO, engine("direct", true, "exchange"))).isEqualTo("training stats time DL4J's rounds");
    }

    @Test
    void theNetworkAndTheSparkContextCanRuleTheExchangeOut() {
        EngineConfig exchange = engine("direct", false, "exchange");
        assertThat(why(net(), TWO, exchange)).isNull();
        assertThat(why(net().convertDataType(DataType.DOUBLE), TWO, exchange)).isEqualTo("the network is not float");
        SparkDl4jMultiLayer listened = ParameterAveragingTrainer.dl4j(sc(), net(), TWO, exchange);
        listened.setListeners(new ScoreIterationListener(1));
        assertThat(RoundRunners.whyNoExchange(listened, TWO, exchange)).isEqualTo("the trainer has listeners");
        assertThat(why(net(), new TrainerSettings(3, 8, 3, 0, 99), exchange)) // local[2,2]: two slots
                .isEqualTo("the cluster has 2 task slots for 3 workers");
        assertThat(withConf("spark.dynamicAllocation.enabled", () -> why(net(), TWO, exchange)))
                .contains("dynamic allocation");
        assertThat(withConf("spark.network.crypto.enabled", () -> why(net(), TWO, exchange)))
                .contains("encrypts its traffic");
    }

    /** Slots lost after the choice: the exchange epoch refuses to start, and the fallback takes over. */
    @Test
    void anExchangeEpochWithoutASlotPerWorkerRefusesToStart() {
        TrainerSettings three = new TrainerSettings(3, 8, 3, 0, 99);
        EngineConfig exchange = engine("direct", false, "exchange");
        ExchangeEpochs epochs = new ExchangeEpochs(ParameterAveragingTrainer.dl4j(sc(), net(), three, exchange), three,
                exchange);
        assertThatThrownBy(() -> epochs.fitEpoch(null, List.of(0), 1))
                .hasMessage("the cluster has 2 task slots for 3 workers");
        assertThat(epochs.exchangeEpochs()).isZero();
    }

    @Test
    void theFallbackSwitchesOnceAtTheFirstFailedEpochAndRerunsIt() {
        Recorder exchange = new Recorder(2); // its second epoch fails
        Recorder jobs = new Recorder(0);
        ExchangeFallback runner = new ExchangeFallback(exchange, jobs);
        List<double[]> scores = new ArrayList<>();
        for (int epoch = 1; epoch <= 4; epoch++) {
            runner.prepare(null);
            scores.add(runner.fitEpoch(null, List.of(0), epoch));
        }
        assertThat(exchange.tried).containsExactly(1, 2);
        assertThat(exchange.prepared).isEqualTo(2);
        assertThat(exchange.closed).as("released when it failed").isEqualTo(1);
        assertThat(jobs.tried).as("the failed epoch again, then every later one").containsExactly(2, 3, 4);
        assertThat(jobs.prepared).as("once when it took over, then each epoch").isEqualTo(3);
        assertThat(scores).extracting(s -> s[0]).containsExactly(1.0, 2.0, 3.0, 4.0);
        assertThat(runner.exchangeEpochs()).isEqualTo(1);
        runner.close();
        assertThat(exchange.closed).isEqualTo(2);
        assertThat(jobs.closed).isEqualTo(1);
    }

    /** While the exchange works round jobs never run; an error that round jobs hit too reaches the caller. */
    @Test
    void anErrorOfTheRoundJobsReachesTheCaller() {
        Recorder unused = new Recorder(1);
        ExchangeFallback healthy = new ExchangeFallback(new Recorder(0), unused);
        healthy.fitEpoch(null, List.of(0), 1);
        assertThat(healthy.exchangeEpochs()).isEqualTo(1);
        assertThat(unused.tried).as("round jobs never ran").isEmpty();

        ExchangeFallback broken = new ExchangeFallback(new Recorder(1), new Recorder(1));
        assertThatThrownBy(() -> broken.fitEpoch(null, List.of(0), 1)).hasMessage("epoch 1 failed");
    }

    /** A runner that records what it was asked and fails at one epoch (0: never). */
    private static final class Recorder implements RoundRunner {
        final List<Integer> tried = new ArrayList<>();
        final int failAt;
        int prepared;
        int closed;
        int succeeded;

        Recorder(int failAt) {
            this.failAt = failAt;
        }

        @Override
        public void prepare(JavaRDD<DataSet> minibatches) {
            prepared++;
        }

        @Override
        public double[] fitEpoch(JavaRDD<DataSet> minibatches, List<Integer> rounds, int epoch) {
            tried.add(epoch);
            if (epoch == failAt) {
                throw new IllegalStateException("epoch " + epoch + " failed");
            }
            succeeded++;
            return new double[] {epoch};
        }

        @Override
        public int exchangeEpochs() {
            return succeeded;
        }

        @Override
        public void close() {
            closed++;
        }
    }

    private static RoundRunner choose(MultiLayerNetwork net, TrainerSettings settings, EngineConfig engine) {
        return RoundRunners.choose(ParameterAveragingTrainer.dl4j(sc(), net, settings, engine), settings, engine);
    }

    private static String why(MultiLayerNetwork net, TrainerSettings settings, EngineConfig engine) {
        return RoundRunners.whyNoExchange(ParameterAveragingTrainer.dl4j(sc(), net, settings, engine), settings,
                engine);
    }

    /** {@code body} with {@code key} set to true on the running Spark context. */
    private static String withConf(String key, java.util.function.Supplier<String> body) {
        spark().sparkContext().conf().set(key, "true");
        try {
            return body.get();
        } finally {
            spark().sparkContext().conf().remove(key);
        }
    }

    private static JavaSparkContext sc() {
        return JavaSparkContext.fromSparkContext(spark().sparkContext());
    }

    private static EngineConfig engine(String approach, boolean stats, String rounds) {
        EngineConfig d = EngineConfig.DEFAULT;
        return new EngineConfig(d.prefetch(), approach, "export".equals(approach) ? "target/unused-export" : null,
                d.repartition(), d.repartitionStrategy(), d.aggregationDepth(), d.storageLevel(), stats,
                d.workerStep(), rounds);
    }

    private static MultiLayerNetwork net() {
        return new Architecture(List.of(8), 0).build(Fixtures.FEATURES, Fixtures.CLASSES, new DistillationLoss(2, 0.5),
                0.01, 5);
    }
}
