package org.distillery.jobs.train.averaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

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
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Parameter averaging with one worker must be single-machine training on the same minibatches in the same order (after
 * DL4J's TestCompareParameterAveragingSparkVsSingleMachine): same parameters, same Adam state. Where both sides run
 * the same code on this machine (the exchange vs one job per round, two runs of one path) they are compared bit for
 * bit; where the worker steps with DenseTrainingStep and the reference with DL4J's fit, the two sum gradients in
 * another order, and are compared within 1e-5 (measured differences: a few ulps, at most 2e-7; see
 * DenseTrainingStepTest).
 */
class ParameterAveragingEquivalenceTest extends SparkTestBase {
    private static final int BATCH = 8;
    private static final int PER_ROUND = 3;
    private static final int ROUNDS = 4;

    /**
     * Workers stepping with DL4J's fit, and with DenseTrainingStep (the default), must both match local fit, with
     * rounds through the averaging exchange (the default) and as one Spark job each.
     */
    @ParameterizedTest
    @CsvSource({"dense,exchange", "fit,exchange", "dense,jobs", "fit,jobs"})
    void oneWorkerEqualsSingleMachineFit(String workerStep, String roundsAs) {
        List<DataSet> batches = batches();
        TrainerSettings settings = new TrainerSettings(1, BATCH, PER_ROUND, 0, 99);
        MultiLayerNetwork init = net();
        MultiLayerNetwork local = init.clone();

        JavaRDD<DataSet> rdd = JavaSparkContext.fromSparkContext(spark().sparkContext())
                .parallelize(batches, ROUNDS).cache();
        assertThat(rdd.glom().collect()).allSatisfy(p -> assertThat(p).hasSize(PER_ROUND));
        ParameterAveragingTrainer spark = new ParameterAveragingTrainer(
                JavaSparkContext.fromSparkContext(spark().sparkContext()), init, settings, rounds(workerStep, roundsAs));
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
        assertThat(spark.exchangeEpochs()).isEqualTo(roundsAs.equals("exchange") ? 2 : 0);
        assertThat(spark.exchangeSessions()).as("both epochs in one Spark job")
                .isEqualTo(roundsAs.equals("exchange") ? 1 : 0);
        spark.close();
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
                .endsWith("worker step dense)");
        MultiLayerNetwork l2 = new MultiLayerNetwork(new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder()
                .l2(1e-4).list()
                .layer(new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().nIn(Fixtures.FEATURES).nOut(8).build())
                .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder(new DistillationLoss(2, 0.5)).nIn(8)
                        .nOut(Fixtures.CLASSES).activation(org.nd4j.linalg.activations.Activation.IDENTITY).build())
                .build());
        l2.init();
        assertThat(new ParameterAveragingTrainer(sc, l2, settings, engine("dense")).describe())
                .contains("worker step DL4J fit (the dense step does not cover this network: layer 0 has regularization");
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
        DistributedTrainer lean = new ParameterAveragingTrainer(sc, net(), settings, rounds("fit", "jobs"));
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

    /**
     * An epoch's rounds as one job averaging through the driver's exchange train the same network as one Spark job
     * per round, bit for bit: the same shares, sums in the same order, the same scores; also with uneven and empty
     * shares (5 minibatches in 6 partitions: in some rounds a worker has none), and with the minibatches cached
     * serialised (as the train job keeps them) or as objects (which the exchange's tasks must not free: the
     * second epoch and the round jobs read them again); and with a small network and a larger one (hidden layers of
     * 300 and 300). The round jobs between the exchange's epochs end its session each time (they need its slots).
     */
    @ParameterizedTest
    @CsvSource({"12,MEMORY_ONLY,8", "5,MEMORY_ONLY,8", "12,MEMORY_AND_DISK_SER,8", "12,MEMORY_ONLY,300 300"})
    void exchangeRoundsTrainTheSameNetworkAsRoundJobs(int minibatches, String storage, String hidden) {
        List<DataSet> batches = batches().subList(0, minibatches);
        TrainerSettings settings = new TrainerSettings(2, BATCH, PER_ROUND, 0, 99);
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark().sparkContext());
        // serialised, each task's minibatches are its own and freed when it ends; deserialised, they are the cache's
        JavaRDD<DataSet> rdd = sc.parallelize(batches, 6)
                .persist(org.apache.spark.storage.StorageLevel.fromString(storage));
        List<Integer> widths = java.util.Arrays.stream(hidden.split(" ")).map(Integer::valueOf).toList();
        DistributedTrainer jobs = new ParameterAveragingTrainer(sc, net(widths), settings, rounds("dense", "jobs"));
        ParameterAveragingTrainer exchange = new ParameterAveragingTrainer(sc, net(widths), settings, engine("dense"));
        assertThat(exchange.describe()).contains("averaging through the driver's exchange");
        assertThat(jobs.describe()).contains("one Spark job per round");
        for (int epoch = 1; epoch <= 2; epoch++) {
            double[] expected = jobs.fitEpoch(rdd, epoch);
            assertThat(exchange.fitEpoch(rdd, epoch)).containsExactly(expected, within(1e-9));
        }
        assertThat(exchange.exchangeEpochs()).isEqualTo(2);
        assertThat(exchange.exchangeSessions()).as("the round jobs between its epochs ended each session").isEqualTo(2);
        assertSameTraining(exchange, jobs, net(widths));
        assertThat(exchange.network().params().equalsWithEps(jobs.network().params(), 0)).as("bit for bit").isTrue();
        assertThat(exchange.network().getEpochCount()).isEqualTo(2);
        exchange.close();
    }

    /**
     * Epochs run in one Spark job until another job starts on the context: that job runs (it needs the session's task
     * slots: {@code local[2]}, two workers), and the next epoch opens another session. Each epoch starts from the
     * driver's network as it stands, here with a learning rate changed between epochs, and the network is the one
     * round jobs train, bit for bit.
     */
    @Test
    @org.junit.jupiter.api.Timeout(120) // a hang guard: a session that kept its slots would block the count below
    void epochsShareOneJobUntilAnotherJobNeedsTheSlots() {
        TrainerSettings settings = new TrainerSettings(2, BATCH, PER_ROUND, 0, 99);
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark().sparkContext());
        JavaRDD<DataSet> rdd = sc.parallelize(batches(), ROUNDS).cache();
        DistributedTrainer jobs = new ParameterAveragingTrainer(sc, net(), settings, rounds("dense", "jobs"));
        for (int epoch = 1; epoch <= 4; epoch++) {
            jobs.network().setLearningRate(epoch < 3 ? 0.01 : 0.002);
            jobs.fitEpoch(rdd, epoch);
        }
        ParameterAveragingTrainer exchange = new ParameterAveragingTrainer(sc, net(), settings, engine("dense"));
        try {
            for (int epoch = 1; epoch <= 3; epoch++) {
                exchange.network().setLearningRate(epoch < 3 ? 0.01 : 0.002);
                exchange.fitEpoch(rdd, epoch);
            }
            assertThat(exchange.exchangeSessions()).as("three epochs in one job").isEqualTo(1);
            assertThat(sc.parallelize(List.of(1, 2, 3), 2).count()).as("another job between epochs").isEqualTo(3);
            exchange.network().setLearningRate(0.002);
            exchange.fitEpoch(rdd, 4);
            assertThat(exchange.exchangeSessions()).isEqualTo(2);
            assertThat(exchange.exchangeEpochs()).isEqualTo(4);
        } finally {
            exchange.close();
        }
        assertThat(sc.parallelize(List.of(1, 2, 3), 2).count()).as("no session left holding the slots").isEqualTo(3);
        assertSameTraining(exchange, jobs);
        assertThat(exchange.network().params().equalsWithEps(jobs.network().params(), 0)).as("bit for bit").isTrue();
    }

    /**
     * A session whose job is lost between epochs (here cancelled, as an executor's loss would fail it) gives way to
     * another at the next epoch, from the network as the last epoch left it.
     */
    @Test
    @org.junit.jupiter.api.Timeout(120) // a hang guard: the driver must not wait for an epoch a lost job cannot run
    void aSessionLostBetweenEpochsGivesWayToAnother() throws Exception {
        TrainerSettings settings = new TrainerSettings(2, BATCH, PER_ROUND, 0, 99);
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark().sparkContext());
        JavaRDD<DataSet> rdd = sc.parallelize(batches(), ROUNDS).cache();
        DistributedTrainer jobs = new ParameterAveragingTrainer(sc, net(), settings, rounds("dense", "jobs"));
        for (int epoch = 1; epoch <= 3; epoch++) {
            jobs.fitEpoch(rdd, epoch);
        }
        ParameterAveragingTrainer exchange = new ParameterAveragingTrainer(sc, net(), settings, engine("dense"));
        try {
            exchange.fitEpoch(rdd, 1);
            exchange.fitEpoch(rdd, 2);
            assertThat(sc.statusTracker().getActiveJobIds()).as("the session's job, between epochs").hasSize(1);
            sc.cancelAllJobs();
            for (int i = 0; i < 600 && sc.statusTracker().getActiveJobIds().length > 0; i++) {
                Thread.sleep(100);
            }
            assertThat(sc.statusTracker().getActiveJobIds()).as("the session's job, cancelled").isEmpty();
            exchange.fitEpoch(rdd, 3);
            assertThat(exchange.exchangeEpochs()).as("epoch 3 through the exchange").isEqualTo(3);
            assertThat(exchange.exchangeSessions()).as("in a session of its own").isEqualTo(2);
        } finally {
            exchange.close();
        }
        assertSameTraining(exchange, jobs);
        assertThat(exchange.network().params().equalsWithEps(jobs.network().params(), 0)).as("bit for bit").isTrue();
    }

    /** Without a task slot per worker a barrier job could not start: the trainer runs one job per round instead. */
    @Test
    void exchangeFallsBackToRoundJobsWithoutASlotPerWorker() {
        TrainerSettings settings = new TrainerSettings(3, BATCH, PER_ROUND, 0, 99); // local[2]: two slots
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark().sparkContext());
        JavaRDD<DataSet> rdd = sc.parallelize(batches(), 6).cache();
        DistributedTrainer jobs = new ParameterAveragingTrainer(sc, net(), settings, rounds("dense", "jobs"));
        ParameterAveragingTrainer exchange = new ParameterAveragingTrainer(sc, net(), settings, engine("dense"));
        jobs.fitEpoch(rdd, 1);
        exchange.fitEpoch(rdd, 1);
        assertThat(exchange.exchangeEpochs()).isZero();
        assertSameTraining(exchange, jobs);
    }

    /**
     * When the exchange cannot run (here its fixed port is taken), the epoch runs again as one job per round, from
     * the network as it was: the same network as round jobs throughout.
     */
    @Test
    void anEpochWhoseExchangeFailsRunsAgainAsRoundJobs() throws Exception {
        TrainerSettings settings = new TrainerSettings(2, BATCH, PER_ROUND, 0, 99);
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark().sparkContext());
        JavaRDD<DataSet> rdd = sc.parallelize(batches(), ROUNDS).cache();
        DistributedTrainer jobs = new ParameterAveragingTrainer(sc, net(), settings, rounds("dense", "jobs"));
        ParameterAveragingTrainer exchange = new ParameterAveragingTrainer(sc, net(), settings, engine("dense"));
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getByName("127.0.0.1"))) {
            spark().sparkContext().conf().set(ExchangeRounds.PORT, String.valueOf(taken.getLocalPort()));
            jobs.fitEpoch(rdd, 1);
            exchange.fitEpoch(rdd, 1);
        } finally {
            spark().sparkContext().conf().remove(ExchangeRounds.PORT);
        }
        jobs.fitEpoch(rdd, 2);
        exchange.fitEpoch(rdd, 2); // the port is free again, but the trainer stays on round jobs
        assertThat(exchange.exchangeEpochs()).isZero();
        assertSameTraining(exchange, jobs);
        assertThat(exchange.network().params().equalsWithEps(jobs.network().params(), 0)).as("bit for bit").isTrue();
    }

    /**
     * A worker that fails mid-epoch ends the epoch's job (the other worker, waiting for the round's averages, is not
     * left hanging), the epoch runs again as round jobs, and the error reaches the caller once it has failed there too.
     */
    @Test
    @org.junit.jupiter.api.Timeout(120) // a hang guard, not a speed check
    void aWorkerFailingMidEpochFailsTheEpochWithItsError() {
        List<DataSet> batches = new ArrayList<>(batches());
        DataSet bad = batches.get(7); // partition 2 (round 1, worker 0), its second minibatch: a feature too many
        batches.set(7, new DataSet(org.nd4j.linalg.factory.Nd4j.concat(1, bad.getFeatures(),
                bad.getFeatures().getColumn(0).reshape(BATCH, 1)), bad.getLabels()));
        TrainerSettings settings = new TrainerSettings(2, BATCH, PER_ROUND, 0, 99);
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark().sparkContext());
        JavaRDD<DataSet> rdd = sc.parallelize(batches, ROUNDS).cache();
        ParameterAveragingTrainer exchange = new ParameterAveragingTrainer(sc, net(), settings, engine("dense"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> exchange.fitEpoch(rdd, 1))
                .hasStackTraceContaining("features must be [rows, 16], got [8, 17]")
                .as("the error of the epoch's second run, as round jobs").hasMessageNotContaining("barrier");
        assertThat(exchange.exchangeEpochs()).isZero();
    }

    private static EngineConfig rounds(String workerStep, String roundsAs) {
        EngineConfig d = EngineConfig.DEFAULT;
        return new EngineConfig(d.prefetch(), d.approach(), null, d.repartition(), d.repartitionStrategy(),
                d.aggregationDepth(), d.storageLevel(), false, workerStep, roundsAs);
    }

    private static void assertSameTraining(DistributedTrainer a, DistributedTrainer b) {
        assertSameTraining(a, b, net());
    }

    private static void assertSameTraining(DistributedTrainer a, DistributedTrainer b, MultiLayerNetwork initial) {
        assertThat(a.network().params().equalsWithEps(b.network().params(), 1e-6)).as("parameters").isTrue();
        assertThat(a.network().getUpdater().getStateViewArray()
                .equalsWithEps(b.network().getUpdater().getStateViewArray(), 1e-6)).as("updater state").isTrue();
        assertThat(a.lastScore()).isCloseTo(b.lastScore(), org.assertj.core.data.Offset.offset(1e-6));
        assertThat(a.network().getLayerWiseConfigurations().getIterationCount())
                .isEqualTo(b.network().getLayerWiseConfigurations().getIterationCount()).isPositive();
        assertThat(a.network().params().equalsWithEps(initial.params(), 1e-3)).as("training moved them").isFalse();
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
        return net(List.of(8));
    }

    private static MultiLayerNetwork net(List<Integer> hidden) {
        return new Architecture(hidden, 0).build(Fixtures.FEATURES, Fixtures.CLASSES, new DistillationLoss(2, 0.5),
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
