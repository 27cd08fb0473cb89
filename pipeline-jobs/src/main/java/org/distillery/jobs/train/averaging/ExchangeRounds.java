package org.distillery.jobs.train.averaging;

import java.io.Serializable;
import org.apache.spark.Partition;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.PartitionCoalescer;
import org.apache.spark.rdd.PartitionGroup;
import org.apache.spark.rdd.RDD;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import scala.Option;
import scala.Tuple2;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;
import scala.runtime.AbstractFunction2;

/**
 * {@code --rounds exchange}: epochs of parameter averaging in one Spark job instead of one job per round, the workers
 * averaging through the driver's {@link AveragingExchange}. Worker w's task reads the partitions its round jobs would
 * have received (round r's share is partition {@code r * workers + w}, {@link TrainerSettings#partitionsFor};
 * {@link #byWorker}) and keeps running, epochs as the driver orders them, rounds in each epoch's order
 * ({@link ExchangeTask}): each round it fits its share from the last averages, sends its result to the exchange and
 * goes on from the averages it gets back. The driver's side is here and in {@link ExchangeSession}: the regrouped
 * minibatches, the session's barrier job, each epoch's order and its outcome set on the driver's network. The exchange
 * averages as {@link RoundMaster} does on the driver (the same float operations in the same order), so the network is
 * the same, bit for bit. What a round saves is Spark's per-job cost (scheduling the tasks, a broadcast, results
 * through the scheduler: most of the 15 ms per round measured in {@code local[2]}), and what an epoch saves is the
 * same once more (docs/PERFORMANCE.md).
 *
 * <p>The job runs in barrier execution mode, which starts all workers' tasks together (they wait for each other every
 * round) or not at all, and needs a task slot per worker. If one task fails, the job fails (Spark does not retry a
 * barrier result stage) and the driver's network is left as it was before the epoch: {@link ExchangeFallback} runs
 * the epoch again as round jobs.
 */
final class ExchangeRounds {
    private static final ClassTag<Object> ANY = ClassTag$.MODULE$.apply(Object.class);

    private ExchangeRounds() {
    }

    /**
     * Bytes a round may move through the driver (every worker's state in, the averages out to every worker): about
     * 25 ms at 10 Gb/s, half of a cluster Spark job's fixed cost. Beyond it a round job's tree aggregation and torrent
     * broadcast are cheaper (docs/PERFORMANCE.md, cost model).
     */
    static final long MAX_DRIVER_BYTES_PER_ROUND = 32L << 20;
    private static final double MIB = 1 << 20;
    /** The Spark setting that fixes the exchange's port on the driver (default 0: any free port). */
    static final String PORT = "spark.distillery.exchange.port";

    /**
     * Why an epoch cannot run as one exchange job on this Spark context for a network of {@code stateFloats}
     * parameters and updater values, or null if it can.
     */
    static String unfit(JavaSparkContext sc, int workers, long stateFloats) {
        return unfit(sc.getConf(), sc.defaultParallelism(), workers, stateFloats);
    }

    /**
     * Why not, from the Spark settings, the task slots the cluster has now and the bytes a round would move through
     * the driver's network link (not counted in local mode).
     */
    static String unfit(org.apache.spark.SparkConf conf, int slots, int workers, long stateFloats) {
        long bytes = 2L * workers * 4 * stateFloats;
        boolean local = conf.get("spark.master", "").startsWith("local"); // one JVM: no link to fill
        if (bytes > MAX_DRIVER_BYTES_PER_ROUND && !local) {
            return String.format(java.util.Locale.ROOT, "a round would move %.1f MiB through the driver (2 x %d"
                    + " workers x %.2f MiB of parameters and updater state), above %d MiB", bytes / MIB, workers,
                    4 * stateFloats / MIB, MAX_DRIVER_BYTES_PER_ROUND >> 20);
        }
        if (slots < workers) {
            return slotsShort(slots, workers);
        }
        if (conf.getBoolean("spark.dynamicAllocation.enabled", false)) {
            return "Spark's barrier mode does not run with dynamic allocation";
        }
        if (conf.getBoolean("spark.network.crypto.enabled", false) || conf.getBoolean("spark.ssl.enabled", false)) {
            return "the cluster encrypts its traffic and the exchange's channel is plain TCP";
        }
        return null;
    }

    /** Why a barrier job of {@code workers} tasks cannot start on {@code slots} task slots. */
    static String slotsShort(int slots, int workers) {
        return "the cluster has " + slots + " task slots for " + workers + " workers";
    }

    /**
     * The minibatches regrouped by worker: partition w holds worker w's share of every round, each minibatch tagged
     * with its round partition. A barrier stage may not read through a narrow dependency that changes the number of
     * partitions (Spark refuses coalesce there), so the regrouped RDD is materialised once, at {@code level}, and its
     * lineage cut (a local checkpoint); every epoch's barrier job then reads it as it is. It holds a second copy of
     * the minibatches: {@link #release} it when the trainer moves to other minibatches.
     */
    static RDD<Object> byWorker(JavaRDD<DataSet> minibatches, int workers, org.apache.spark.storage.StorageLevel level) {
        RDD<Object> grouped = minibatches.rdd().mapPartitionsWithIndex(new Tag(), true, ANY)
                .coalesce(workers, false, Option.apply(new ByWorker(workers)), null);
        grouped.persist(level).localCheckpoint();
        grouped.count();
        return grouped;
    }

    static void release(RDD<Object> byWorker) {
        byWorker.unpersist(false);
    }

    /** The epoch's outcome on the driver's network: the last averages, the iterations they stand for, the score. */
    static double[] setOn(SparkDl4jMultiLayer spark, AveragingExchange.Outcome epoch, int averagingFrequency) {
        if (epoch.averages() != null) { // at least one round had data
            MultiLayerNetwork net = spark.getNetwork();
            epoch.averages().setOn(net);
            MultiLayerConfiguration c = net.getLayerWiseConfigurations();
            c.setIterationCount(c.getIterationCount() + epoch.roundsWithData() * averagingFrequency);
            spark.setScore(epoch.scores()[epoch.scores().length - 1]);
        }
        Nd4j.getExecutioner().commit();
        return epoch.scores();
    }

    /** Tags each minibatch with its partition, i.e. its round and worker. */
    private static final class Tag extends AbstractFunction2<Object, scala.collection.Iterator<DataSet>,
            scala.collection.Iterator<Object>> implements Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public scala.collection.Iterator<Object> apply(Object partition, scala.collection.Iterator<DataSet> rows) {
            return rows.map(new Tagger((Integer) partition));
        }
    }

    private static final class Tagger extends AbstractFunction1<DataSet, Object> implements Serializable {
        private static final long serialVersionUID = 1L;
        private final int partition;

        Tagger(int partition) {
            this.partition = partition;
        }

        @Override
        public Object apply(DataSet ds) {
            return new Tuple2<>(partition, ds);
        }
    }

    /** Worker w's group: partitions {@code r * workers + w} for every round r, in round order. */
    private static final class ByWorker implements PartitionCoalescer, scala.Serializable { // Spark checks for Scala's
        private static final long serialVersionUID = 1L;
        private final int workers;

        ByWorker(int workers) {
            this.workers = workers;
        }

        @Override
        public PartitionGroup[] coalesce(int maxPartitions, RDD<?> parent) {
            Partition[] partitions = parent.partitions();
            PartitionGroup[] groups = new PartitionGroup[workers];
            for (int w = 0; w < workers; w++) {
                groups[w] = new PartitionGroup(Option.empty());
                for (int p = w; p < partitions.length; p += workers) {
                    groups[w].partitions().$plus$eq(partitions[p]);
                }
            }
            return groups;
        }
    }
}
