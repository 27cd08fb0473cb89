package org.distillery.jobs.train.averaging;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;
import org.distillery.model.nn.DenseTrainingStep;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's worker (it builds the worker's network from the broadcast and reports parameters, updater state and
 * score), stepping minibatches with {@link DenseTrainingStep} where that covers the network. Given a {@link Kept},
 * a worker whose network the dense step covers keeps that network (and the step's buffers) for the next round of the
 * same task and loads the round's start state into it, where DL4J builds a new network every round (~3 ms for the
 * 784-64-10 student, ~30 ms for 784-512-512-10: as much as its ten minibatch steps, docs/PERFORMANCE.md).
 */
final class DenseStepWorker extends ParameterAveragingTrainingWorker {
    private static final long serialVersionUID = 1L;
    private final ParameterAveragingTrainingWorker dl4j;
    private final boolean dense;
    private transient MultiLayerNetwork initial;
    private transient MultiLayerNetwork stepping;
    private transient DenseTrainingStep step;
    private final transient Kept kept;
    private final transient NetBroadcastTuple startState;

    DenseStepWorker(ParameterAveragingTrainingWorker dl4j) {
        this(dl4j, true);
    }

    /** With {@code dense} false, DL4J's worker as it is, only recording the network it builds. */
    DenseStepWorker(ParameterAveragingTrainingWorker dl4j, boolean dense) {
        this(dl4j, dense, null, null);
    }

    /** A round's worker reusing {@code kept}'s network, loading {@code startState} (the round's broadcast) into it. */
    DenseStepWorker(ParameterAveragingTrainingWorker dl4j, boolean dense, Kept kept, NetBroadcastTuple startState) {
        super(null, true, dl4j.getDataConfiguration(), null, null, null);
        this.dl4j = dl4j;
        this.dense = dense;
        this.kept = dense ? kept : null;
        this.startState = startState;
    }

    /** One task's network and dense step, kept from round to round; the task frees the network at its end. */
    static final class Kept {
        private MultiLayerNetwork net;
        private DenseTrainingStep step;

        /** The kept network, or null. */
        MultiLayerNetwork network() {
            return net;
        }
    }

    @Override
    public MultiLayerNetwork getInitialModel() {
        if (kept != null && kept.net != null) {
            initial = kept.net;
            load(initial, startState);
            stepping = initial;
            step = kept.step;
            seedRandom(initial);
            return initial;
        }
        initial = dl4j.getInitialModel();
        seedRandom(initial);
        if (kept != null) {
            DenseTrainingStep covered = DenseTrainingStep.of(initial);
            if (covered != null) {
                kept.net = initial;
                kept.step = covered;
                stepping = initial;
                step = covered;
            }
        }
        return initial;
    }

    /**
     * The state DL4J's {@code getInitialModel} gives a new network, loaded into {@code net}: parameters, updater state
     * (zeros when the broadcast has none, as a new network's), iteration and epoch counts.
     */
    private static void load(MultiLayerNetwork net, NetBroadcastTuple tuple) {
        net.params().assign(tuple.getParameters());
        if (tuple.getUpdaterState() != null) {
            net.getUpdater().getStateViewArray().assign(tuple.getUpdaterState());
        } else if (net.getUpdater().getStateViewArray() != null) {
            net.getUpdater().getStateViewArray().assign(0);
        }
        int iteration = tuple.getConfiguration().getIterationCount();
        int epoch = tuple.getConfiguration().getEpochCount();
        net.getLayerWiseConfigurations().setIterationCount(iteration);
        net.getLayerWiseConfigurations().setEpochCount(epoch);
        for (org.deeplearning4j.nn.api.Layer layer : net.getLayers()) {
            layer.setIterationCount(iteration);
            layer.setEpochCount(epoch);
        }
    }

    /**
     * Seeds this thread's ND4J generator, which draws the round's dropout masks (the dense step calls the layers' own
     * {@code Dropout}, as {@code fit} does), from the network's seed, the iteration count the round starts at and the
     * worker's partition: the same run gives the same masks, and a resumed run the masks of the uninterrupted one,
     * whichever executor thread a worker lands on. Workers of one round draw different masks.
     */
    private static void seedRandom(MultiLayerNetwork net) {
        org.apache.spark.TaskContext task = org.apache.spark.TaskContext.get();
        long partition = task == null ? 0 : task.partitionId();
        long seed = net.getLayerWiseConfigurations().getConf(0).getSeed();
        long iteration = net.getLayerWiseConfigurations().getIterationCount();
        Nd4j.getRandom().setSeed(mix(mix(mix(seed) + iteration) + partition));
    }

    /** SplitMix64's finaliser: nearby inputs give unrelated seeds. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The network this worker built (null before it did). */
    MultiLayerNetwork initialModel() {
        return initial;
    }

    @Override
    public ParameterAveragingTrainingResult processMinibatch(org.nd4j.linalg.dataset.api.DataSet data,
                                                             MultiLayerNetwork network, boolean isLast) {
        if (!dense) {
            return dl4j.processMinibatch(data, network, isLast);
        }
        if (network != stepping) { // a new network each round
            stepping = network;
            step = DenseTrainingStep.of(network);
        }
        if (step == null || data.getFeaturesMaskArray() != null) {
            return dl4j.processMinibatch(data, network, isLast);
        }
        step.fit(data);
        Nd4j.getExecutioner().commit();
        return isLast ? dl4j.getFinalResult(network) : null;
    }

    @Override
    public ParameterAveragingTrainingResult getFinalResult(MultiLayerNetwork network) {
        return dl4j.getFinalResult(network);
    }

    @Override
    public ParameterAveragingTrainingResult getFinalResultNoData() {
        return dl4j.getFinalResultNoData();
    }
}
