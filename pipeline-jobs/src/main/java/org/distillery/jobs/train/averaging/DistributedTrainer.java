package org.distillery.jobs.train.averaging;

import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;

/**
 * The one seam between distillery and a distributed training engine. DL4J's Spark module is frozen upstream, so the
 * rest of the code talks to this interface only; {@link ParameterAveragingTrainer} is today's implementation.
 */
public interface DistributedTrainer {
    /**
     * One pass over {@code minibatches} (each element one minibatch, partitioned as {@link
     * TrainerSettings#partitionsFor} says); the network then holds the new parameters. Returns the engine's training
     * score after each averaging round, in the order the rounds ran.
     */
    double[] fitEpoch(JavaRDD<DataSet> minibatches, int epoch);

    /** The network being trained (parameters as of the last completed epoch). */
    MultiLayerNetwork network();

    /** The engine's last reported training score (noisy; judge progress on held-out data). */
    double lastScore();

    /** The engine's own per-phase training statistics as an HTML page, or null when not collected. */
    String statsHtml();

    /** Releases what the engine wrote for this training (e.g. exported minibatches). */
    default void close() {
    }

    /** A one-line description of the engine and its settings, for logs and manifests. */
    String describe();
}
