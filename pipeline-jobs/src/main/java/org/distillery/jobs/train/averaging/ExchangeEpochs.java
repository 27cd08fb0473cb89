package org.distillery.jobs.train.averaging;

import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.RDD;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --rounds exchange}: each epoch's rounds in one barrier-mode Spark job whose workers average through the
 * driver's {@link AveragingExchange} ({@link ExchangeRounds}). The minibatches are regrouped by worker once per set.
 * An epoch that cannot run or fails throws with the network as it was; {@link ExchangeFallback} takes over then.
 */
final class ExchangeEpochs implements RoundRunner {
    private static final Logger LOG = LoggerFactory.getLogger(ExchangeEpochs.class);
    private final SparkDl4jMultiLayer spark;
    private final TrainerSettings settings;
    private final EngineConfig engine;
    private JavaRDD<DataSet> groupedFrom;
    private RDD<Object> grouped;
    private int epochs;

    ExchangeEpochs(SparkDl4jMultiLayer spark, TrainerSettings settings, EngineConfig engine) {
        this.spark = spark;
        this.settings = settings;
        this.engine = engine;
    }

    @Override
    public void prepare(JavaRDD<DataSet> minibatches) {
        if (groupedFrom != minibatches) {
            close();
            StorageLevel kept = minibatches.getStorageLevel(); // the copy is kept as they are
            grouped = ExchangeRounds.byWorker(minibatches, settings.workers(), kept.useMemory() || kept.useDisk()
                    ? kept : StorageLevel.fromString(engine.storageLevel()));
            groupedFrom = minibatches;
        }
    }

    @Override
    public double[] fitEpoch(JavaRDD<DataSet> minibatches, List<Integer> rounds, int epoch) {
        int slots = spark.getSparkContext().defaultParallelism();
        if (slots < settings.workers()) { // lost since the training began: a barrier job would wait for them
            throw new IllegalStateException(ExchangeRounds.slotsShort(slots, settings.workers()));
        }
        double[] scores = ExchangeRounds.fitEpoch(spark, grouped, rounds, settings, engine.denseStep());
        if (epochs++ == 0) {
            LOG.info("epoch {}: {} averaging rounds in one Spark job, through the driver's averaging exchange ({})",
                    epoch, rounds.size(), spark.getSparkContext().isLocal()
                            ? "workers in the driver's JVM: in-process queues" : "TCP");
        }
        return scores;
    }

    @Override
    public int exchangeEpochs() {
        return epochs;
    }

    /** Drops the regrouped copy of the minibatches. */
    @Override
    public void close() {
        if (grouped != null) {
            ExchangeRounds.release(grouped);
            grouped = null;
            groupedFrom = null;
        }
    }
}
