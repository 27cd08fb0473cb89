package org.distillery.jobs.train.averaging;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaRDDLike;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.datavec.spark.util.BroadcastHadoopConfigHolder;
import org.deeplearning4j.core.loader.DataSetLoader;
import org.deeplearning4j.core.loader.MultiDataSetLoader;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.WorkerConfiguration;
import org.deeplearning4j.spark.api.worker.ExecuteWorkerFlatMap;
import org.deeplearning4j.spark.api.worker.ExecuteWorkerPathFlatMap;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;
import org.deeplearning4j.spark.util.SparkUtils;
import org.distillery.model.nn.DenseTrainingStep;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;
import scala.runtime.AbstractFunction2;
import scala.runtime.BoxedUnit;

/**
 * DL4J's {@link ParameterAveragingTrainingMaster} fed one averaging round at a time by {@link RoundJobs} and
 * {@link ExportedRoundJobs}. DL4J's worker does the work (it builds each worker's network from the broadcast
 * parameters and updater state, fits its minibatches and reports parameters, updater state and score) and the
 * average is DL4J's (sum, divide by the number of workers that had data, set on the network with the iteration
 * count). What changes is how a round travels through Spark:
 * <ul>
 *   <li>No count job: DL4J counts its input to cut it into rounds of workers x averaging-frequency minibatches; every
 *   RDD handed in here already is one such round ({@link TrainerSettings#partitionsFor}), so that bound is its
 *   count.</li>
 *   <li>One lean Spark job per round. Measured (JFR, {@code local[2]}, 784-64-10 student) most of DL4J's fixed cost
 *   per round was not training: Spark's closure cleaner parsing class files with ASM for each of the five lambdas of
 *   {@code mapPartitions} + {@code treeAggregate}, and ND4J's element-by-element Java serialisation of the broadcast
 *   and of each worker's 0.6 MB of parameters and updater state. Here the job's functions are plain classes (the
 *   cleaner passes them through), results travel as {@link RoundSum} float arrays, the broadcast as
 *   {@link BulkTuple}, and a round's broadcast is released when the round ends. Spark's {@code treeAggregate} is
 *   still used when the aggregation depth would add a level, i.e. with many workers.</li>
 *   <li>With {@code denseStep}, workers take each minibatch step with {@link DenseTrainingStep} when it covers the
 *   student (the same step as DL4J's {@code fit}, at a fraction of its per-step overhead), and with {@code fit}
 *   otherwise.</li>
 * </ul>
 * With DL4J's training stats or listeners, and for non-float students, rounds run through DL4J's own code.
 */
final class RoundMaster extends ParameterAveragingTrainingMaster {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(RoundMaster.class);
    private static final ClassTag<RoundSum> SUM = ClassTag$.MODULE$.apply(RoundSum.class);
    private final boolean denseStep;

    RoundMaster(Builder builder, boolean denseStep) {
        super(builder);
        this.denseStep = denseStep;
    }

    @Override
    protected <T, R extends JavaRDDLike<T, R>> long getTotalDataSetObjectCount(JavaRDDLike<T, R> round) {
        return getNumDataSetObjectsPerSplit(rddDataSetNumExamples);
    }

    @Override
    public ParameterAveragingTrainingWorker getWorkerInstance(SparkDl4jMultiLayer network) {
        return stepping(super.getWorkerInstance(network));
    }

    private ParameterAveragingTrainingWorker stepping(ParameterAveragingTrainingWorker dl4j) {
        return denseStep && !collectTrainingStats ? new DenseStepWorker(dl4j) : dl4j;
    }

    /** Whether this round can take the lean path: DL4J's own code is kept for its stats, listeners, non-float nets. */
    private boolean lean(SparkDl4jMultiLayer network) {
        return notLean(network) == null;
    }

    /** Why rounds of {@code network} keep DL4J's own code (and cannot go through the exchange), or null. */
    String notLean(SparkDl4jMultiLayer network) {
        return collectTrainingStats || statsStorage != null ? "training stats time DL4J's rounds"
                : listeners != null && !listeners.isEmpty() ? "the trainer has listeners"
                : network.getNetwork().params().dataType() != DataType.FLOAT ? "the network is not float"
                : null;
    }

    @Override
    protected void doIteration(SparkDl4jMultiLayer network, JavaRDD<DataSet> split, int splitNum, int numSplits) {
        if (!lean(network)) {
            super.doIteration(network, split, splitNum, numSplits);
            return;
        }
        JavaRDD<DataSet> data = SparkUtils.repartition(split, repartition, repartitionStrategy,
                numObjectsEachWorker(rddDataSetNumExamples), numWorkers);
        round(network, data, ExecuteWorkerFlatMap::new);
    }

    @Override
    protected void doIterationPaths(SparkDl4jMultiLayer network, SparkComputationGraph graph, JavaRDD<String> split,
                                    int splitNum, int numSplits, int examplesPerObject, DataSetLoader dsLoader,
                                    MultiDataSetLoader mdsLoader) {
        if (network == null || dsLoader == null || !lean(network)) {
            super.doIterationPaths(network, graph, split, splitNum, numSplits, examplesPerObject, dsLoader, mdsLoader);
            return;
        }
        JavaRDD<String> paths = SparkUtils.repartition(split, repartition, repartitionStrategy,
                numObjectsEachWorker(examplesPerObject), numWorkers);
        var hadoop = BroadcastHadoopConfigHolder.get(network.getSparkContext());
        round(network, paths, worker -> new ExecuteWorkerPathFlatMap<>(worker, dsLoader, hadoop));
    }

    /** How a round's worker consumes its partition (DL4J's flat-map over minibatches or over exported paths). */
    private interface WorkerFunction<T> {
        FlatMapFunction<Iterator<T>, ParameterAveragingTrainingResult> of(ParameterAveragingTrainingWorker worker);
    }

    /** One averaging round as one Spark job; then DL4J's averaging step on the driver's network. */
    private <T> void round(SparkDl4jMultiLayer network, JavaRDD<T> data, WorkerFunction<T> work) {
        MultiLayerNetwork net = network.getNetwork();
        JavaSparkContext sc = network.getSparkContext();
        INDArray updaterState = net.getUpdater().getStateViewArray();
        Broadcast<NetBroadcastTuple> broadcast =
                sc.broadcast(new BulkTuple(net.getLayerWiseConfigurations(), net.params(), updaterState));
        try {
            ParameterAveragingTrainingWorker worker = stepping(new ParameterAveragingTrainingWorker(broadcast,
                    saveUpdater, new WorkerConfiguration(false, rddDataSetNumExamples, batchSizePerWorker,
                    averagingFrequency, prefetchNumBatches, false), trainingHookList, null, null));
            RDD<RoundSum> sums = data.rdd().mapPartitions(new Work<>(work.of(worker)), false, SUM);
            RoundSum total = treeAdds(sums.getNumPartitions())
                    ? sums.treeAggregate(RoundSum.EMPTY, Add.INSTANCE, Add.INSTANCE, aggregationDepth, SUM)
                    : collectAndAdd(sc, sums);
            if (total.count == 0) {
                LOG.info("Skipping imbalanced split with no data for all executors");
                return;
            }
            total.averaged().setOn(net);
            network.setScore(total.score / total.count);
            MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
            conf.setIterationCount(conf.getIterationCount() + averagingFrequency);
            Nd4j.getExecutioner().commit();
        } finally {
            broadcast.destroy();
        }
    }

    /** Whether Spark's treeAggregate at this depth would add a level before the driver (its own test). */
    private boolean treeAdds(int partitions) {
        int scale = Math.max((int) Math.ceil(Math.pow(partitions, 1.0 / aggregationDepth)), 2);
        return aggregationDepth > 1 && partitions > scale + (int) Math.ceil((double) partitions / scale);
    }

    /** The job itself, with its function and result handler as plain classes (no closure cleaning). */
    private static RoundSum collectAndAdd(JavaSparkContext sc, RDD<RoundSum> sums) {
        List<Object> partitions = new ArrayList<>();
        for (int p = 0; p < sums.getNumPartitions(); p++) {
            partitions.add(p);
        }
        Collected collected = new Collected(partitions.size());
        sc.sc().runJob(sums, new PartitionSum(), JavaConverters.asScalaBuffer(partitions), collected, SUM);
        RoundSum total = RoundSum.EMPTY;
        for (RoundSum s : collected.sums) {
            total = total.add(s);
        }
        return total;
    }

    /** A worker's partition: DL4J's worker flat-map, its results summed. */
    private static final class Work<T> extends AbstractFunction1<scala.collection.Iterator<T>,
            scala.collection.Iterator<RoundSum>> implements Serializable {
        private static final long serialVersionUID = 1L;
        private final FlatMapFunction<Iterator<T>, ParameterAveragingTrainingResult> worker;

        Work(FlatMapFunction<Iterator<T>, ParameterAveragingTrainingResult> worker) {
            this.worker = worker;
        }

        @Override
        public scala.collection.Iterator<RoundSum> apply(scala.collection.Iterator<T> rows) {
            Iterator<ParameterAveragingTrainingResult> results;
            try {
                results = worker.call(JavaConverters.asJavaIterator(rows));
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException("worker failed: " + e, e);
            }
            RoundSum sum = RoundSum.EMPTY;
            while (results.hasNext()) {
                sum = sum.add(RoundSum.of(results.next()));
            }
            return scala.collection.Iterator$.MODULE$.single(sum);
        }
    }

    private static final class PartitionSum extends AbstractFunction2<TaskContext, scala.collection.Iterator<RoundSum>,
            RoundSum> implements Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public RoundSum apply(TaskContext context, scala.collection.Iterator<RoundSum> sums) {
            RoundSum total = RoundSum.EMPTY;
            while (sums.hasNext()) {
                total = total.add(sums.next());
            }
            return total;
        }
    }

    /** Driver-side result handler: each partition's sum by index. */
    private static final class Collected extends AbstractFunction2<Object, RoundSum, BoxedUnit> {
        final RoundSum[] sums;

        Collected(int partitions) {
            sums = new RoundSum[partitions];
        }

        @Override
        public BoxedUnit apply(Object partition, RoundSum sum) {
            sums[(Integer) partition] = sum;
            return BoxedUnit.UNIT;
        }
    }

    private static final class Add extends AbstractFunction2<RoundSum, RoundSum, RoundSum> implements Serializable {
        private static final long serialVersionUID = 1L;
        static final Add INSTANCE = new Add();

        @Override
        public RoundSum apply(RoundSum a, RoundSum b) {
            return a.add(b);
        }
    }

    /**
     * DL4J's broadcast tuple, serialised with its arrays in bulk: {@link Wire} is what travels (configuration, float
     * arrays and their shapes), and it reads back as a plain {@link NetBroadcastTuple}.
     */
    static final class BulkTuple extends NetBroadcastTuple {
        private static final long serialVersionUID = 1L;

        BulkTuple(MultiLayerConfiguration conf, INDArray params, INDArray updaterState) {
            super(conf, params, updaterState);
        }

        private Object writeReplace() {
            INDArray u = getUpdaterState();
            return new Wire(getConfiguration(), RoundSum.floats(getParameters()), getParameters().shape(),
                    u == null ? null : RoundSum.floats(u), u == null ? null : u.shape());
        }
    }

    private record Wire(MultiLayerConfiguration conf, float[] params, long[] paramsShape, float[] updater,
                        long[] updaterShape) implements Serializable {
        private Object readResolve() {
            return new NetBroadcastTuple(conf, RoundSum.array(params, paramsShape),
                    updater == null ? null : RoundSum.array(updater, updaterShape));
        }
    }
}
