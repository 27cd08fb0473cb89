package org.distillery.jobs.train;

import org.apache.spark.api.java.JavaRDDLike;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;
import org.distillery.model.nn.DenseTrainingStep;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's {@link ParameterAveragingTrainingMaster} (broadcast, worker fits, tree-aggregated averaging: all its own) fed
 * one averaging round at a time by {@link ParameterAveragingTrainer}, with two changes:
 * <ul>
 *   <li>It does not count a round before training it. DL4J counts its input with a Spark job to cut it into rounds
 *   of workers x averaging-frequency minibatches; every RDD handed in here already is one such round (at most that
 *   many minibatches, {@link TrainerSettings#partitionsFor}), so that bound is its count: one Spark job per round
 *   instead of two.</li>
 *   <li>With {@code denseStep}, workers take each minibatch step with {@link DenseTrainingStep} when it covers the
 *   student (the same step as DL4J's {@code fit}, at a fraction of its per-step overhead), and with {@code fit}
 *   otherwise.</li>
 * </ul>
 */
final class RoundMaster extends ParameterAveragingTrainingMaster {
    private static final long serialVersionUID = 1L;
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
        ParameterAveragingTrainingWorker dl4j = super.getWorkerInstance(network);
        return denseStep && !collectTrainingStats ? new DenseStepWorker(dl4j) : dl4j;
    }

    /**
     * DL4J's worker (it builds the worker's network from the broadcast and reports parameters, updater state and
     * score), stepping minibatches with {@link DenseTrainingStep} where that covers the network.
     */
    static final class DenseStepWorker extends ParameterAveragingTrainingWorker {
        private static final long serialVersionUID = 1L;
        private final ParameterAveragingTrainingWorker dl4j;
        private transient MultiLayerNetwork stepping;
        private transient DenseTrainingStep step;

        DenseStepWorker(ParameterAveragingTrainingWorker dl4j) {
            super(null, true, dl4j.getDataConfiguration(), null, null, null);
            this.dl4j = dl4j;
        }

        @Override
        public MultiLayerNetwork getInitialModel() {
            return dl4j.getInitialModel();
        }

        @Override
        public ParameterAveragingTrainingResult processMinibatch(DataSet data, MultiLayerNetwork network,
                                                                 boolean isLast) {
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
}
