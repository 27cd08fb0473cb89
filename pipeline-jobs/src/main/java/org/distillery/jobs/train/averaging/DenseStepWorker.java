package org.distillery.jobs.train.averaging;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;
import org.distillery.model.nn.DenseTrainingStep;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's worker (it builds the worker's network from the broadcast and reports parameters, updater state and
 * score), stepping minibatches with {@link DenseTrainingStep} where that covers the network.
 */
final class DenseStepWorker extends ParameterAveragingTrainingWorker {
    private static final long serialVersionUID = 1L;
    private final ParameterAveragingTrainingWorker dl4j;
    private final boolean dense;
    private transient MultiLayerNetwork initial;
    private transient MultiLayerNetwork stepping;
    private transient DenseTrainingStep step;

    DenseStepWorker(ParameterAveragingTrainingWorker dl4j) {
        this(dl4j, true);
    }

    /** With {@code dense} false, DL4J's worker as it is, only recording the network it builds. */
    DenseStepWorker(ParameterAveragingTrainingWorker dl4j, boolean dense) {
        super(null, true, dl4j.getDataConfiguration(), null, null, null);
        this.dl4j = dl4j;
        this.dense = dense;
    }

    @Override
    public MultiLayerNetwork getInitialModel() {
        initial = dl4j.getInitialModel();
        return initial;
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
