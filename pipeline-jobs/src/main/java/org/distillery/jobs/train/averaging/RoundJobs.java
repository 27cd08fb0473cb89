package org.distillery.jobs.train.averaging;

import java.io.Serializable;
import java.util.List;
import java.util.function.IntConsumer;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.PartitionPruningRDD;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.nd4j.linalg.dataset.DataSet;
import scala.runtime.AbstractFunction1;

/**
 * One Spark job per averaging round ({@code --rounds jobs}, and wherever the exchange cannot run), each handed the
 * round's own partitions as a partition-pruned RDD: DL4J's master sees one split, needs no repartition, and every round
 * reads only its own minibatches. {@link RoundMaster} runs each round: its lean round, or DL4J's own where training
 * stats, listeners or a non-float network need it.
 */
final class RoundJobs implements RoundRunner {
    private final SparkDl4jMultiLayer spark;
    private final int workers;

    RoundJobs(SparkDl4jMultiLayer spark, int workers) {
        this.spark = spark;
        this.workers = workers;
    }

    @Override
    public double[] fitEpoch(JavaRDD<DataSet> minibatches, List<Integer> rounds, int epoch) {
        return eachRound(spark, rounds, round -> spark.fit(round(minibatches, round, workers)));
    }

    /**
     * Runs {@code fit} for each round, in order, and returns the score after each. DL4J counts every fit call as an
     * epoch: the network's count is put back after each round, so every round trains in the epoch it belongs to.
     */
    static double[] eachRound(SparkDl4jMultiLayer spark, List<Integer> rounds, IntConsumer fit) {
        MultiLayerNetwork net = spark.getNetwork();
        int epochs = net.getEpochCount();
        double[] scores = new double[rounds.size()];
        RoundProgress progress = new RoundProgress("round jobs", rounds.size());
        for (int i = 0; i < rounds.size(); i++) {
            fit.accept(rounds.get(i));
            scores[i] = spark.getScore();
            progress.averaged(i + 1, scores[i]);
            net.setEpochCount(epochs);
        }
        return scores;
    }

    /** The partitions of one round, as an RDD of their own. */
    static JavaRDD<DataSet> round(JavaRDD<DataSet> minibatches, int round, int workers) {
        return new JavaRDD<>(PartitionPruningRDD.create(minibatches.rdd(), new InRound(round, workers)),
                minibatches.classTag());
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
