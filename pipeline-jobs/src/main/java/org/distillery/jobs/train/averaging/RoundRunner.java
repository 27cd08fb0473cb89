package org.distillery.jobs.train.averaging;

import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.nd4j.linalg.dataset.DataSet;

/**
 * One way of running an epoch's averaging rounds on the trainer's network. {@link RoundRunners#choose} picks one per
 * training: {@link RoundJobs} (one Spark job per round), {@link ExportedRoundJobs} (the same, fed exported minibatch
 * files) or {@link ExchangeFallback} ({@link ExchangeEpochs}, epochs of rounds in one Spark job averaging through the
 * driver's exchange, until one fails; round jobs from then on). Every way trains the same network.
 */
interface RoundRunner extends AutoCloseable {
    /**
     * Readies the runner for {@code minibatches}, once per set (a regrouped copy, exported files). A failure here is
     * the training's, not one a fallback takes over.
     */
    default void prepare(JavaRDD<DataSet> minibatches) {
    }

    /**
     * Runs {@code rounds} (round indices, in this order) over the prepared {@code minibatches}: the network then holds
     * the averaged parameters, updater state and iteration count of the last round with data. Returns the score after
     * each round. If it throws, the network is as it was before the epoch or the training cannot go on.
     */
    double[] fitEpoch(JavaRDD<DataSet> minibatches, List<Integer> rounds, int epoch);

    /** Epochs run through the driver's averaging exchange so far. */
    default int exchangeEpochs() {
        return 0;
    }

    /** Spark jobs those epochs ran in ({@link ExchangeSession}). */
    default int exchangeSessions() {
        return 0;
    }

    /** Releases what {@link #prepare} made: only this training reads it. */
    @Override
    default void close() {
    }
}
