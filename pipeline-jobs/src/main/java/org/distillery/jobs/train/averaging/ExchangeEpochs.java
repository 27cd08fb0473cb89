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
 * {@code --rounds exchange}: epochs of rounds in barrier-mode Spark jobs whose workers average through the driver's
 * {@link AveragingExchange} ({@link ExchangeRounds}), one job for as many epochs as run without another Spark job
 * between them ({@link ExchangeSession}). The minibatches are regrouped by worker once per set. An epoch that cannot
 * run or fails throws with the network as it was; {@link ExchangeFallback} takes over then.
 */
final class ExchangeEpochs implements RoundRunner {
    private static final Logger LOG = LoggerFactory.getLogger(ExchangeEpochs.class);
    private final SparkDl4jMultiLayer spark;
    private final TrainerSettings settings;
    private final EngineConfig engine;
    private JavaRDD<DataSet> groupedFrom;
    private RDD<Object> grouped;
    private ExchangeSession session;
    private int epochs;
    private int sessions;

    ExchangeEpochs(SparkDl4jMultiLayer spark, TrainerSettings settings, EngineConfig engine) {
        this.spark = spark;
        this.settings = settings;
        this.engine = engine;
    }

    @Override
    public void prepare(JavaRDD<DataSet> minibatches) {
        if (groupedFrom != minibatches) {
            close(); // a session's tasks read the regrouped copy: it ends first
            StorageLevel kept = minibatches.getStorageLevel(); // the copy is kept as they are
            grouped = ExchangeRounds.byWorker(minibatches, settings.workers(), kept.useMemory() || kept.useDisk()
                    ? kept : StorageLevel.fromString(engine.storageLevel()));
            groupedFrom = minibatches;
        }
    }

    @Override
    public double[] fitEpoch(JavaRDD<DataSet> minibatches, List<Integer> rounds, int epoch) {
        if (rounds.isEmpty()) {
            return new double[0];
        }
        if (session != null && !session.open()) { // another Spark job ended it, or its own job ended
            String lost = session.lost();
            if (lost != null) {
                LOG.warn("epoch {}: the averaging session's Spark job ended between epochs ({}); starting another",
                        epoch, lost);
            }
            endSession();
        }
        if (session == null) {
            int slots = spark.getSparkContext().defaultParallelism();
            if (slots < settings.workers()) { // lost since the training began: a barrier job would wait for them
                throw new IllegalStateException(ExchangeRounds.slotsShort(slots, settings.workers()));
            }
            session = ExchangeSession.open(spark, grouped, settings, engine.denseStep());
            if (sessions++ == 0) {
                LOG.info("epoch {}: {} averaging rounds per epoch through the driver's averaging exchange ({}), epoch"
                        + " after epoch in one Spark job until another Spark job needs its task slots", epoch,
                        rounds.size(), spark.getSparkContext().isLocal()
                                ? "workers in the driver's JVM: in-process queues" : "TCP");
            } else {
                LOG.debug("epoch {}: another averaging session, Spark job {} of this training", epoch, sessions);
            }
        }
        double[] scores;
        try {
            scores = session.fitEpoch(spark, rounds, settings);
        } catch (RuntimeException e) {
            session = null; // closed by its failure
            throw e;
        }
        epochs++;
        return scores;
    }

    /** Ends the session and waits for its job to return. */
    private void endSession() {
        session.close();
        session = null;
    }

    @Override
    public int exchangeEpochs() {
        return epochs;
    }

    @Override
    public int exchangeSessions() {
        return sessions;
    }

    /** Ends the session, then drops the regrouped copy of the minibatches. */
    @Override
    public void close() {
        if (session != null) {
            endSession();
            LOG.info("averaging exchange: {} epochs in {} Spark job(s)", epochs, sessions);
        }
        if (grouped != null) {
            ExchangeRounds.release(grouped);
            grouped = null;
            groupedFrom = null;
        }
    }
}
