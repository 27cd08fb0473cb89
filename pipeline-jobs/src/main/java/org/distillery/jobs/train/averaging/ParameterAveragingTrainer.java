package org.distillery.jobs.train.averaging;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.stats.StatsUtils;
import org.distillery.model.nn.DenseTrainingStep;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Synchronous parameter averaging with DL4J's {@link ParameterAveragingTrainingMaster}: each worker fits up to
 * {@code averagingFrequency} minibatches from the broadcast parameters and updater state, then both are averaged.
 *
 * <p>DL4J splits an epoch into rounds with a random split that scans the whole RDD once per round, so an epoch of R
 * rounds reads the data R times. Here the data arrives already cut into rounds (one partition per worker per round,
 * {@link TrainerSettings#partitionsFor}); each epoch visits the rounds in an order reshuffled from the seed, and a
 * {@link RoundRunner} picked once per training ({@link RoundRunners#choose}) runs them: by default epochs of rounds
 * in one Spark job averaging through the driver's exchange, else one Spark job per round. The master is DL4J's, as
 * {@link RoundMaster}: it skips DL4J's per-round count job, runs each round as one lean Spark job and lets workers step
 * dense students with model-lib's {@code DenseTrainingStep} ({@link EngineConfig#workerStep}).
 */
public final class ParameterAveragingTrainer implements DistributedTrainer {
    private final SparkDl4jMultiLayer spark;
    private final TrainerSettings settings;
    private final EngineConfig engine;
    private RoundRunner runner; // picked at the first epoch

    /** A trainer of {@code net}, its rounds run as {@code engine} asks and {@code sc} allows. */
    public ParameterAveragingTrainer(JavaSparkContext sc, MultiLayerNetwork net, TrainerSettings settings,
                                     EngineConfig engine) {
        this.spark = dl4j(sc, net, settings, engine);
        this.settings = settings;
        this.engine = engine;
    }

    /** DL4J's Spark network training {@code net} with {@link RoundMaster} as its master. */
    static SparkDl4jMultiLayer dl4j(JavaSparkContext sc, MultiLayerNetwork net, TrainerSettings settings,
                                    EngineConfig engine) {
        ParameterAveragingTrainingMaster.Builder master = new ParameterAveragingTrainingMaster.Builder(
                settings.workers(), settings.batchSize())
                .batchSizePerWorker(settings.batchSize())
                .averagingFrequency(settings.averagingFrequency())
                .workerPrefetchNumBatches(settings.prefetch())
                .aggregationDepth(engine.aggregationDepth())
                .saveUpdater(true)
                // Direct: the minibatch RDD is used as is. Export is done once per minibatch set and fitted from
                // paths (ExportedRoundJobs), rather than by the master, which would re-export every round.
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .repartionData(engine.repartitionRule())
                .repartitionStrategy(engine.strategy())
                .storageLevel(null) // the data path persists the minibatches once; rounds are views of them
                .collectTrainingStats(engine.trainingStats())
                .rngSeed(settings.seed());
        return new SparkDl4jMultiLayer(sc, net, new RoundMaster(master, engine.denseStep()));
    }

    @Override
    public double[] fitEpoch(JavaRDD<DataSet> minibatches, int epoch) {
        List<Integer> rounds = roundOrder(minibatches.getNumPartitions(), epoch);
        if (runner == null) {
            runner = RoundRunners.choose(spark, settings, engine);
        }
        runner.prepare(minibatches);
        // DL4J counts every fit call, i.e. every round, as an epoch; the network counts epochs (as a local fit does)
        int epochs = spark.getNetwork().getEpochCount();
        double[] scores = runner.fitEpoch(minibatches, rounds, epoch);
        spark.getNetwork().setEpochCount(epochs + 1);
        return scores;
    }

    /** The epoch's rounds, in an order reshuffled each epoch from the seed. */
    private List<Integer> roundOrder(int partitions, int epoch) {
        if (partitions % settings.workers() != 0) {
            throw new RuntimeException("internal error: minibatch partitions (" + partitions + ") must be a multiple of"
                    + " workers (" + settings.workers() + ")");
        }
        List<Integer> rounds = new ArrayList<>();
        for (int r = 0; r < partitions / settings.workers(); r++) {
            rounds.add(r);
        }
        Collections.shuffle(rounds, new Random(settings.seed() * 31 + epoch));
        return rounds;
    }

    /** Epochs trained through the averaging exchange so far (tests check it was used). */
    int exchangeEpochs() {
        return runner == null ? 0 : runner.exchangeEpochs();
    }

    /** Spark jobs those epochs ran in. */
    int exchangeSessions() {
        return runner == null ? 0 : runner.exchangeSessions();
    }

    /** Releases what the rounds' runner made for this training (exported files, a regrouped copy). */
    @Override
    public void close() {
        if (runner != null) {
            runner.close();
        }
    }

    @Override
    public String statsHtml() {
        if (!engine.trainingStats() || spark.getSparkTrainingStats() == null) {
            return null;
        }
        try (java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream()) {
            StatsUtils.exportStatsAsHTML(spark.getSparkTrainingStats(), out);
            return out.toString(java.nio.charset.StandardCharsets.UTF_8);
        } catch (Exception e) {
            throw new IllegalStateException("could not render DL4J training stats: " + e, e);
        }
    }

    @Override
    public MultiLayerNetwork network() {
        return spark.getNetwork();
    }

    @Override
    public double lastScore() {
        return spark.getScore();
    }

    @Override
    public String describe() {
        return "ParameterAveragingTrainingMaster(workers=" + settings.workers() + ", batchSizePerWorker="
                + settings.batchSize() + ", averagingFrequency=" + settings.averagingFrequency() + ", prefetch="
                + settings.prefetch() + ", aggregationDepth=" + engine.aggregationDepth() + ", approach="
                + engine.approach() + (engine.export() ? " to " + engine.exportDir() : "")
                + ", rounds fed as " + (engine.export() ? "exported paths" : "pruned partitions")
                + (engine.exchange() ? ", epochs of rounds in one job averaging through the driver's exchange where"
                + " possible" : ", one Spark job per round") + ", worker step "
                + workerStep() + ")";
    }

    /** Which step the workers take on this network, and why not the dense one when it does not apply. */
    private String workerStep() {
        if (!engine.denseStep()) {
            return "DL4J fit" + (engine.trainingStats() ? " (training stats time it)" : "");
        }
        String reason = DenseTrainingStep.unsupported(spark.getNetwork());
        return reason == null ? "dense" : "DL4J fit (the dense step does not cover this network: " + reason + ")";
    }
}
