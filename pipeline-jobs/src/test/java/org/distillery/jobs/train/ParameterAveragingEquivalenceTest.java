package org.distillery.jobs.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.model.data.Batches;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.nn.Architecture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Parameter averaging with one worker must be exactly single-machine training on the same minibatches in the same
 * order (after DL4J's TestCompareParameterAveragingSparkVsSingleMachine): same parameters, same Adam state.
 */
class ParameterAveragingEquivalenceTest extends SparkTestBase {
    private static final int BATCH = 8;
    private static final int PER_ROUND = 3;
    private static final int ROUNDS = 4;

    /** Workers stepping with DL4J's fit, and with DenseTrainingStep (the default), must both match local fit. */
    @ParameterizedTest
    @ValueSource(strings = {"dense", "fit"})
    void oneWorkerEqualsSingleMachineFit(String workerStep) {
        List<DataSet> batches = batches();
        TrainerSettings settings = new TrainerSettings(1, BATCH, PER_ROUND, 0, 99);
        MultiLayerNetwork init = net();
        MultiLayerNetwork local = init.clone();

        JavaRDD<DataSet> rdd = JavaSparkContext.fromSparkContext(spark().sparkContext())
                .parallelize(batches, ROUNDS).cache();
        assertThat(rdd.glom().collect()).allSatisfy(p -> assertThat(p).hasSize(PER_ROUND));
        DistributedTrainer spark = new ParameterAveragingTrainer(
                JavaSparkContext.fromSparkContext(spark().sparkContext()), init, settings, engine(workerStep));
        assertThat(spark.describe()).contains(workerStep.equals("dense") ? "worker step dense" : "worker step DL4J fit");
        for (int epoch = 1; epoch <= 2; epoch++) {
            spark.fitEpoch(rdd, epoch);
            for (int round : roundOrder(settings, epoch)) {
                for (int b = 0; b < PER_ROUND; b++) {
                    local.fit(batches.get(round * PER_ROUND + b));
                }
            }
        }

        INDArray sparkParams = spark.network().params();
        assertThat(sparkParams.equalsWithEps(local.params(), 1e-5)).as("parameters").isTrue();
        assertThat(spark.network().getUpdater().getStateViewArray()
                .equalsWithEps(local.getUpdater().getStateViewArray(), 1e-5)).as("updater state").isTrue();
        assertThat(sparkParams.equalsWithEps(net().params(), 1e-3)).as("training moved the parameters").isFalse();
    }

    /** Two workers averaging: the dense step and DL4J's fit on the workers give the same network. */
    @Test
    void twoWorkersTrainTheSameNetworkWithEitherWorkerStep() {
        List<DataSet> batches = batches();
        TrainerSettings settings = new TrainerSettings(2, BATCH, PER_ROUND, 0, 99);
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark().sparkContext());
        JavaRDD<DataSet> rdd = sc.parallelize(batches, ROUNDS).cache();
        DistributedTrainer dense = new ParameterAveragingTrainer(sc, net(), settings, engine("dense"));
        DistributedTrainer fit = new ParameterAveragingTrainer(sc, net(), settings, engine("fit"));
        for (int epoch = 1; epoch <= 2; epoch++) {
            dense.fitEpoch(rdd, epoch);
            fit.fitEpoch(rdd, epoch);
        }
        assertThat(dense.network().params().equalsWithEps(fit.network().params(), 1e-5)).isTrue();
        assertThat(dense.network().params().equalsWithEps(net().params(), 1e-3)).as("training moved them").isFalse();
        assertThat(dense.lastScore()).isCloseTo(fit.lastScore(), org.assertj.core.data.Offset.offset(1e-5));
        assertThat(dense.network().getEpochCount()).as("epochs, not rounds (2 per epoch here)").isEqualTo(2);
        MultiLayerNetwork withDropout = new Architecture(List.of(8, 8), 0.3).build(Fixtures.FEATURES, Fixtures.CLASSES,
                new DistillationLoss(2, 0.5), 0.01, 5);
        assertThat(new ParameterAveragingTrainer(sc, withDropout, settings, engine("dense")).describe())
                .contains("worker step DL4J fit (the dense step does not cover this network: layer 1 has dropout");
    }

    /**
     * RoundMaster's lean round (one Spark job, results as float arrays, the driver sums them, or Spark's
     * treeAggregate when the depth adds a level: 6 workers at depth 2) trains the same network as DL4J's own round
     * (broadcast, mapPartitions, treeAggregate of INDArrays), which it keeps when training stats are collected.
     */
    @ParameterizedTest
    @ValueSource(ints = {2, 6})
    void leanRoundsTrainTheSameNetworkAsDl4jsOwnRounds(int workers) {
        List<DataSet> batches = batches();
        TrainerSettings settings = new TrainerSettings(workers, BATCH, PER_ROUND, 0, 99);
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark().sparkContext());
        JavaRDD<DataSet> rdd = sc.parallelize(batches, 2 * workers).cache();
        DistributedTrainer lean = new ParameterAveragingTrainer(sc, net(), settings, engine("fit"));
        DistributedTrainer dl4j = new ParameterAveragingTrainer(sc, net(), settings,
                engine("direct", null, true, "fit"));
        for (int epoch = 1; epoch <= 2; epoch++) {
            lean.fitEpoch(rdd, epoch);
            dl4j.fitEpoch(rdd, epoch);
        }
        assertSameTraining(lean, dl4j);
        assertThat(dl4j.statsHtml()).as("DL4J's round ran (it alone records stats)").containsIgnoringCase("<html");
    }

    /** Rounds fed as exported minibatch files (the export approach) train as the same rounds fed directly. */
    @Test
    void exportedRoundsTrainTheSameNetworkAsDirectRounds(@TempDir Path dir) {
        List<DataSet> batches = batches();
        TrainerSettings settings = new TrainerSettings(2, BATCH, PER_ROUND, 0, 99);
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark().sparkContext());
        JavaRDD<DataSet> rdd = sc.parallelize(batches, ROUNDS).cache();
        DistributedTrainer direct = new ParameterAveragingTrainer(sc, net(), settings, engine("dense"));
        DistributedTrainer exported = new ParameterAveragingTrainer(sc, net(), settings,
                engine("export", dir.resolve("export").toString(), false, "dense"));
        try {
            assertThat(exported.describe()).contains("rounds fed as exported paths");
            for (int epoch = 1; epoch <= 2; epoch++) {
                direct.fitEpoch(rdd, epoch);
                exported.fitEpoch(rdd, epoch);
            }
            assertSameTraining(exported, direct);
        } finally {
            exported.close();
        }
    }

    private static void assertSameTraining(DistributedTrainer a, DistributedTrainer b) {
        assertThat(a.network().params().equalsWithEps(b.network().params(), 1e-6)).as("parameters").isTrue();
        assertThat(a.network().getUpdater().getStateViewArray()
                .equalsWithEps(b.network().getUpdater().getStateViewArray(), 1e-6)).as("updater state").isTrue();
        assertThat(a.lastScore()).isCloseTo(b.lastScore(), org.assertj.core.data.Offset.offset(1e-6));
        assertThat(a.network().getLayerWiseConfigurations().getIterationCount())
                .isEqualTo(b.network().getLayerWiseConfigurations().getIterationCount()).isPositive();
        assertThat(a.network().params().equalsWithEps(net().params(), 1e-3)).as("training moved them").isFalse();
    }

    private static EngineConfig engine(String workerStep) {
        return engine(EngineConfig.DEFAULT.approach(), null, false, workerStep);
    }

    private static EngineConfig engine(String approach, String exportDir, boolean stats, String workerStep) {
        EngineConfig d = EngineConfig.DEFAULT;
        return new EngineConfig(d.prefetch(), approach, exportDir, d.repartition(), d.repartitionStrategy(),
                d.aggregationDepth(), d.storageLevel(), stats, workerStep);
    }

    /** The round order the trainer uses in {@code epoch} (same seeded shuffle). */
    private static List<Integer> roundOrder(TrainerSettings s, int epoch) {
        List<Integer> rounds = new ArrayList<>();
        for (int r = 0; r < ROUNDS; r++) {
            rounds.add(r);
        }
        Collections.shuffle(rounds, new Random(s.seed() * 31 + epoch));
        return rounds;
    }

    private static MultiLayerNetwork net() {
        return new Architecture(List.of(8), 0).build(Fixtures.FEATURES, Fixtures.CLASSES, new DistillationLoss(2, 0.5),
                0.01, 5);
    }

    private static List<DataSet> batches() {
        int n = BATCH * PER_ROUND * ROUNDS;
        int[] y = Fixtures.labels(n, 3);
        float[][] x = Fixtures.features(n, y, 4);
        Random rng = new Random(5);
        List<DataSet> out = new ArrayList<>();
        for (int b = 0; b < n / BATCH; b++) {
            List<Batches.Example> rows = new ArrayList<>();
            for (int i = b * BATCH; i < (b + 1) * BATCH; i++) {
                float[] logits = new float[Fixtures.CLASSES];
                for (int c = 0; c < logits.length; c++) {
                    logits[c] = (float) rng.nextGaussian();
                }
                rows.add(new Batches.Example(x[i], logits, i % 3 == 0 ? y[i] : -1));
            }
            out.add(Batches.toDataSet(rows, Fixtures.CLASSES, 2.0));
        }
        return out;
    }
}
