package org.distillery.jobs.train.averaging;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a training's epochs run their rounds, picked once, at its first epoch, with the reason logged:
 * <ul>
 *   <li>{@code --rounds jobs}: one Spark job per round, {@link RoundJobs} (or {@link ExportedRoundJobs} with the
 *   export approach);</li>
 *   <li>{@code --rounds exchange} (the default) where the exchange cannot run ({@link #whyNoExchange}): the same, and
 *   the log says why;</li>
 *   <li>{@code --rounds exchange} otherwise: {@link ExchangeFallback}, exchange epochs ({@link ExchangeEpochs}) until
 *   one fails, round jobs from then on.</li>
 * </ul>
 */
final class RoundRunners {
    private static final Logger LOG = LoggerFactory.getLogger(RoundRunners.class);

    private RoundRunners() {
    }

    static RoundRunner choose(SparkDl4jMultiLayer spark, TrainerSettings settings, EngineConfig engine) {
        RoundRunner jobs = engine.export() ? new ExportedRoundJobs(spark, settings, engine.exportDir())
                : new RoundJobs(spark, settings.workers());
        if (!engine.exchange()) {
            LOG.info("one Spark job per averaging round (--rounds jobs)");
            return jobs;
        }
        String why = whyNoExchange(spark, settings, engine);
        if (why != null) {
            LOG.info("rounds through the averaging exchange not used ({}): one Spark job per round", why);
            return jobs;
        }
        return new ExchangeFallback(new ExchangeEpochs(spark, settings, engine), jobs);
    }

    /**
     * Why an epoch's rounds cannot run as one exchange job, or null if they can: the export approach (rounds fit from
     * paths), what keeps DL4J's own rounds ({@link RoundMaster#notLean}: training stats, listeners, a non-float
     * network), and what the Spark context cannot give ({@link ExchangeRounds#unfit}: a task slot per worker, barrier
     * mode without dynamic allocation, plain TCP beside encrypted Spark traffic, at most 32 MiB per round through the
     * driver on a cluster).
     */
    static String whyNoExchange(SparkDl4jMultiLayer spark, TrainerSettings settings, EngineConfig engine) {
        if (engine.export()) {
            return "the export approach fits from paths";
        }
        String notLean = ((RoundMaster) spark.getTrainingMaster()).notLean(spark);
        if (notLean != null) {
            return notLean;
        }
        MultiLayerNetwork net = spark.getNetwork();
        INDArray updaterState = net.getUpdater().getStateViewArray();
        return ExchangeRounds.unfit(spark.getSparkContext(), settings.workers(),
                net.params().length() + (updaterState == null ? 0 : updaterState.length()));
    }
}
