package org.distillery.jobs.train;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.PartitionPruningRDD;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.stats.StatsUtils;
import org.distillery.model.nn.DenseTrainingStep;
import org.nd4j.linalg.dataset.DataSet;
import scala.runtime.AbstractFunction1;

/**
 * Synchronous parameter averaging with DL4J's {@link ParameterAveragingTrainingMaster}: each worker fits up to
 * {@code averagingFrequency} minibatches from the broadcast parameters and updater state, then both are averaged.
 *
 * <p>DL4J splits an epoch into rounds with a random split that scans the whole RDD once per round, so an epoch of R
 * rounds reads the data R times. Here the data arrives already cut into rounds (one partition per worker per round,
 * {@link TrainerSettings#partitionsFor}) and each round is handed to the master as a partition-pruned RDD: the master
 * sees one split, needs no repartition, and every round reads only its own minibatches. Round order is reshuffled each
 * epoch from the seed. The master is DL4J's, as {@link RoundMaster}: it skips DL4J's per-round count job, runs each
 * round as one lean Spark job (DL4J's worker and averaging, without its per-round closure cleaning and element-wise
 * array serialisation) and lets workers step dense students with model-lib's {@code DenseTrainingStep}
 * ({@link EngineConfig#workerStep}). By default an epoch's rounds run as one Spark job whose workers average through
 * the driver's {@link AveragingExchange} ({@link ExchangeRounds}: the same network, without Spark's per-job cost each
 * round); where that cannot run, or once it has failed, one job per round.
 */
final class ParameterAveragingTrainer implements DistributedTrainer {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ParameterAveragingTrainer.class);
    private final JavaSparkContext sc;
    private final SparkDl4jMultiLayer spark;
    private final TrainerSettings settings;
    private final EngineConfig engine;
    private JavaRDD<DataSet> exportedFrom;
    private List<List<String>> exportedRounds;
    private String warned;
    private boolean exchangeFailed;
    private int exchangeEpochs;
    private JavaRDD<DataSet> groupedFrom;
    private org.apache.spark.rdd.RDD<Object> grouped;

    ParameterAveragingTrainer(JavaSparkContext sc, MultiLayerNetwork net, TrainerSettings settings) {
        this(sc, net, settings, EngineConfig.DEFAULT);
    }

    ParameterAveragingTrainer(JavaSparkContext sc, MultiLayerNetwork net, TrainerSettings settings,
                              EngineConfig engine) {
        this.sc = sc;
        this.settings = settings;
        this.engine = engine;
        ParameterAveragingTrainingMaster.Builder master = new ParameterAveragingTrainingMaster.Builder(
                settings.workers(), settings.batchSize())
                .batchSizePerWorker(settings.batchSize())
                .averagingFrequency(settings.averagingFrequency())
                .workerPrefetchNumBatches(settings.prefetch())
                .aggregationDepth(engine.aggregationDepth())
                .saveUpdater(true)
                // Direct: the minibatch RDD is used as is. Export is done here, once per minibatch set, and fitted
                // from paths (fitPaths), rather than by the master, which would re-export every round.
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .repartionData(engine.repartitionRule())
                .repartitionStrategy(engine.strategy())
                .storageLevel(null) // the data path persists the minibatches once; rounds are views of them
                .collectTrainingStats(engine.trainingStats())
                .rngSeed(settings.seed());
        this.spark = new SparkDl4jMultiLayer(sc, net, new RoundMaster(master, engine.denseStep()));
    }

    /**
     * Deletes the minibatches this trainer exported (export approach) and drops those it regrouped for exchange
     * rounds: only this training reads them.
     */
    @Override
    public void close() {
        if (grouped != null) {
            ExchangeRounds.release(grouped);
            grouped = null;
            groupedFrom = null;
        }
        if (exportedRounds != null && !exportedRounds.isEmpty()) {
            exportedRounds.stream().flatMap(List::stream).findFirst().ifPresent(p -> {
                org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(p).getParent();
                try {
                    dir.getFileSystem(sc.hadoopConfiguration()).delete(dir, true);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException("cannot delete exported minibatches " + dir, e);
                }
            });
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
    public double[] fitEpoch(JavaRDD<DataSet> minibatches, int epoch) {
        int partitions = minibatches.getNumPartitions();
        if (partitions % settings.workers() != 0) {
            throw new RuntimeException("internal error: minibatch partitions (" + partitions + ") must be a multiple of workers ("
                    + settings.workers() + ")");
        }
        List<Integer> rounds = new ArrayList<>();
        for (int r = 0; r < partitions / settings.workers(); r++) {
            rounds.add(r);
        }
        Collections.shuffle(rounds, new Random(settings.seed() * 31 + epoch));
        double[] scores = new double[rounds.size()];
        if (engine.export() && exportedFrom != minibatches) {
            exportedRounds = MinibatchExport.export(sc, minibatches, engine.exportDir(), settings);
            exportedFrom = minibatches;
        }
        // DL4J counts every fit call, i.e. every round, as an epoch; the network counts epochs (as a local fit does)
        int epochs = spark.getNetwork().getEpochCount();
        if (exchange()) {
            if (groupedFrom != minibatches) {
                close();
                org.apache.spark.storage.StorageLevel kept = minibatches.getStorageLevel(); // keep the copy as they are
                grouped = ExchangeRounds.byWorker(minibatches, settings.workers(), kept.useMemory() || kept.useDisk()
                        ? kept : org.apache.spark.storage.StorageLevel.fromString(engine.storageLevel()));
                groupedFrom = minibatches;
            }
            try {
                scores = ExchangeRounds.fitEpoch(spark, grouped, rounds, settings, engine.denseStep());
                spark.getNetwork().setEpochCount(epochs + 1);
                if (exchangeEpochs++ == 0) {
                    LOG.info("epoch {}: {} averaging rounds in one Spark job, through the driver's averaging exchange",
                            epoch, rounds.size());
                }
                return scores;
            } catch (Exception e) { // Spark's job failure is a checked SparkException, thrown undeclared
                // the network is as before the epoch: run it again, one job per round (which stands on Spark's own
                // channels and recomputes lost minibatches from their lineage); a genuine training error recurs there
                exchangeFailed = true;
                LOG.warn("epoch {} through the averaging exchange failed ({}): one Spark job per round from now on",
                        epoch, rootMessage(e));
                close();
            }
        }
        for (int i = 0; i < rounds.size(); i++) {
            if (engine.export()) {
                spark.fitPaths(sc.parallelize(exportedRounds.get(rounds.get(i)), settings.workers()));
            } else {
                spark.fit(round(minibatches, rounds.get(i)));
            }
            scores[i] = spark.getScore();
            spark.getNetwork().setEpochCount(epochs);
        }
        spark.getNetwork().setEpochCount(epochs + 1);
        return scores;
    }

    /**
     * Whether this epoch's rounds run as one exchange job: asked for, not failed before, and possible (direct approach,
     * what the lean rounds need, {@link RoundMaster#notLean}, and a Spark context that can run it,
     * {@link ExchangeRounds#unfit}). Says why not once per reason.
     */
    private boolean exchange() {
        if (!engine.exchange() || exchangeFailed) {
            return false;
        }
        MultiLayerNetwork net = spark.getNetwork();
        String notLean = ((RoundMaster) spark.getTrainingMaster()).notLean(spark);
        String why = engine.export() ? "the export approach fits from paths"
                : notLean != null ? notLean
                : ExchangeRounds.unfit(sc, settings.workers(), net.params().length()
                        + (net.getUpdater().getStateViewArray() == null ? 0
                        : net.getUpdater().getStateViewArray().length()));
        if (why != null && !why.equals(warned)) {
            warned = why;
            LOG.info("rounds through the averaging exchange not used ({}): one Spark job per round", why);
        }
        return why == null;
    }

    /** Epochs trained through the averaging exchange so far (tests check it was used). */
    int exchangeEpochs() {
        return exchangeEpochs;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return String.join(" ", t.toString().lines().limit(2).toList()); // Spark's reason spans lines
    }

    /** The partitions of one round, as an RDD of their own. */
    JavaRDD<DataSet> round(JavaRDD<DataSet> minibatches, int round) {
        return new JavaRDD<>(PartitionPruningRDD.create(minibatches.rdd(), new InRound(round, settings.workers())),
                minibatches.classTag());
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
                + (engine.exchange() ? ", an epoch's rounds in one job averaging through the driver's exchange where"
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

    /** Partition filter of one round (serialisable: it travels with the RDD). */
    private static final class InRound extends AbstractFunction1<Object, Object> implements Serializable {
        private static final long serialVersionUID = 1L;
        private final int round;
        private final int workers;

        InRound(int round, int workers) {
            this.round = round;
            this.workers = workers;
        }

        @Override
        public Object apply(Object partition) {
            return (Integer) partition / workers == round;
        }
    }
}
