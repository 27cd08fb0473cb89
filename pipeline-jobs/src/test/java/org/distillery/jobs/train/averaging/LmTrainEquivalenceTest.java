package org.distillery.jobs.train.averaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.SparkTestBase;
import org.distillery.model.loss.TokenDistillationLoss;
import org.distillery.model.nn.LstmArchitecture;
import org.distillery.model.text.WindowBatches;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * The parameter-averaging engine on an LSTM LM's 3-D, masked minibatches ({@link WindowBatches}), as
 * {@link ParameterAveragingEquivalenceTest} checks it on classifiers: one worker equals single-machine {@code fit} on
 * the same minibatches in the same round order (within 1e-5; the dense step does not cover LSTMs, so both sides run
 * DL4J's fit and measured equal bit for bit here), through the averaging exchange and as one Spark job per round; with
 * two workers the exchange trains the same network as round jobs, bit for bit.
 */
class LmTrainEquivalenceTest extends SparkTestBase {
    private static final int V = 7;
    private static final int T = 6;
    private static final int BATCH = 4;
    private static final int PER_ROUND = 3;
    private static final int ROUNDS = 4;

    @ParameterizedTest
    @CsvSource({"dense,exchange", "fit,jobs"})
    void oneWorkerEqualsSingleMachineFit(String workerStep, String roundsAs) {
        List<DataSet> batches = batches();
        TrainerSettings settings = new TrainerSettings(1, BATCH, PER_ROUND, 0, 99);
        MultiLayerNetwork init = lm();
        MultiLayerNetwork local = init.clone();
        JavaRDD<DataSet> rdd = JavaSparkContext.fromSparkContext(spark().sparkContext())
                .parallelize(batches, ROUNDS).cache();
        ParameterAveragingTrainer spark = new ParameterAveragingTrainer(
                JavaSparkContext.fromSparkContext(spark().sparkContext()), init, settings, engine(workerStep, roundsAs));
        assertThat(spark.describe()).contains("worker step DL4J fit");
        for (int epoch = 1; epoch <= 2; epoch++) {
            spark.fitEpoch(rdd, epoch);
            for (int round : roundOrder(settings, epoch)) {
                for (int b = 0; b < PER_ROUND; b++) {
                    local.fit(batches.get(round * PER_ROUND + b));
                }
            }
        }
        INDArray sparkParams = spark.network().params();
        System.out.printf("LSTM LM, one worker (%s, %s) vs local fit: max |parameter difference| %.3g%n", workerStep,
                roundsAs, sparkParams.sub(local.params()).amaxNumber().doubleValue());
        assertThat(sparkParams.equalsWithEps(local.params(), 1e-5)).as("parameters").isTrue();
        assertThat(spark.network().getUpdater().getStateViewArray()
                .equalsWithEps(local.getUpdater().getStateViewArray(), 1e-5)).as("updater state").isTrue();
        assertThat(sparkParams.equalsWithEps(lm().params(), 1e-3)).as("training moved the parameters").isFalse();
        assertThat(spark.exchangeEpochs()).as("3-D minibatches go through the exchange")
                .isEqualTo(roundsAs.equals("exchange") ? 2 : 0);
        spark.close();
    }

    @Test
    void twoWorkersThroughTheExchangeTrainTheSameLmAsRoundJobs() {
        TrainerSettings settings = new TrainerSettings(2, BATCH, PER_ROUND, 0, 99);
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark().sparkContext());
        JavaRDD<DataSet> rdd = sc.parallelize(batches(), ROUNDS).persist(
                org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK_SER());
        DistributedTrainer jobs = new ParameterAveragingTrainer(sc, lm(), settings, engine("dense", "jobs"));
        ParameterAveragingTrainer exchange = new ParameterAveragingTrainer(sc, lm(), settings,
                engine("dense", "exchange"));
        for (int epoch = 1; epoch <= 2; epoch++) {
            double[] expected = jobs.fitEpoch(rdd, epoch);
            assertThat(exchange.fitEpoch(rdd, epoch)).containsExactly(expected, within(1e-9));
        }
        assertThat(exchange.exchangeEpochs()).isEqualTo(2);
        assertThat(exchange.network().params().equalsWithEps(jobs.network().params(), 0)).as("bit for bit").isTrue();
        assertThat(exchange.network().params().equalsWithEps(lm().params(), 1e-3)).as("training moved them").isFalse();
        exchange.close();
    }

    private static EngineConfig engine(String workerStep, String roundsAs) {
        EngineConfig d = EngineConfig.DEFAULT;
        return new EngineConfig(d.prefetch(), d.approach(), null, d.repartition(), d.repartitionStrategy(),
                d.aggregationDepth(), d.storageLevel(), false, workerStep, roundsAs);
    }

    private static List<Integer> roundOrder(TrainerSettings s, int epoch) {
        List<Integer> rounds = new ArrayList<>();
        for (int r = 0; r < ROUNDS; r++) {
            rounds.add(r);
        }
        Collections.shuffle(rounds, new Random(s.seed() * 31 + epoch));
        return rounds;
    }

    private static MultiLayerNetwork lm() {
        return LstmArchitecture.parse("lstm:4:8").build(V, TokenDistillationLoss.hardLabelsOnly(), 0.01, 5);
    }

    /** Seeded windows of T tokens; every other one with a burn-in of 2 masked positions and one padded position. */
    private static List<DataSet> batches() {
        Random rng = new Random(5);
        List<DataSet> out = new ArrayList<>();
        for (int b = 0; b < PER_ROUND * ROUNDS; b++) {
            List<WindowBatches.Example> rows = new ArrayList<>();
            for (int i = 0; i < BATCH; i++) {
                int[] tokens = new int[T + 1];
                for (int s = 0; s <= T; s++) {
                    tokens[s] = rng.nextInt(V);
                }
                float[] mask = new float[T];
                java.util.Arrays.fill(mask, i % 2 == 0 ? 0 : 2, i % 2 == 0 ? T : T - 1, 1f);
                rows.add(new WindowBatches.Example(java.util.Arrays.copyOf(tokens, T),
                        java.util.Arrays.copyOfRange(tokens, 1, T + 1), mask, null));
            }
            out.add(WindowBatches.toDataSet(rows, V, 1.0));
        }
        return out;
    }
}
