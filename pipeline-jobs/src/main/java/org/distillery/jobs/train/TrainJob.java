package org.distillery.jobs.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.LabelledSet;
import org.distillery.jobs.common.Scoring;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.nn.Architecture;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a network with the distributed trainer: a KD student on soft targets, a hard-label baseline (or the teacher
 * itself), or a pseudo-label student. For each (T, alpha) in the grid it keeps the epoch with the best validation
 * accuracy, then publishes the best grid point's model with every point's scores.
 */
public final class TrainJob {
    private static final Logger LOG = LoggerFactory.getLogger(TrainJob.class);
    static final String SCORES = "scores.jsonl";
    private final SparkSession spark;

    public TrainJob(SparkSession spark) {
        this.spark = spark;
    }

    /** One grid point's outcome. */
    record Trial(double temperature, double alpha, int bestEpoch, double validationAccuracy, INDArray params) {
    }

    public JobResult run(TrainConfig config) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        StagedOutput.failIfExists(storage, config.out());
        Inputs in = Inputs.resolve(spark, config);
        TrainingRows rows = TrainingRows.build(spark, in.transfer(), in.softTargets(), config.labelled(), config.seed(),
                config.objective());
        LOG.info("training {} on {} rows ({} with a hard label) from {}", config.objective().id(), rows.count(),
                rows.labelledCount(), in.transfer().path());
        LabelledSet validation = in.validation() == null ? null : LabelledSet.collect(in.validation());
        Architecture arch = Architecture.parse(config.architecture(), config.dropout());
        TrainerSettings settings = new TrainerSettings(config.workers(), config.batchSize(), config.averagingFrequency(),
                0, config.seed());

        List<String> scoreLines = new ArrayList<>();
        Trial best = null;
        for (double t : in.temperatures()) {
            JavaRDD<DataSet> batches = rows.minibatches(config.objective(), in.classes(), t, settings);
            for (double alpha : config.alphas()) {
                Trial trial = trainOne(config, arch, settings, in, batches, validation, t, alpha, scoreLines);
                if (best == null || trial.validationAccuracy() > best.validationAccuracy()) {
                    best = trial;
                }
            }
            batches.unpersist(false);
        }
        MultiLayerNetwork net = arch.build(in.featureCount(), in.classes(),
                loss(config.objective(), best.temperature(), best.alpha()),
                config.learningRate(), config.seed());
        net.setParams(best.params());
        try (StagedOutput out = StagedOutput.begin(storage, config.out())) {
            storage.writeBytes(out.path("model.zip"), Models.toBytes(net, false));
            storage.writeText(out.path(SCORES), String.join("\n", scoreLines) + "\n");
            Manifest manifest = Manifest.sealed("train", config, in.manifestInputs(),
                    Manifest.facts("objective", config.objective().id(), "temperature", best.temperature(),
                            "alpha", best.alpha(), "bestEpoch", best.bestEpoch(),
                            "validationAccuracy", best.validationAccuracy(), "rows", rows.count(),
                            "labelledRows", rows.labelledCount(), "classes", in.classes(),
                            "featureCount", in.featureCount(), "architecture", arch.spec(),
                            "parameters", net.numParams(), "trainer", describe(settings)),
                    Versions.current(), java.time.Instant.now().toString());
            out.publish(manifest);
            double seconds = (System.nanoTime() - start) / 1e9;
            LOG.info("trained {} in {} s: T={} alpha={} epoch={} validation accuracy={}", config.objective().id(),
                    String.format("%.1f", seconds), best.temperature(), best.alpha(), best.bestEpoch(),
                    String.format("%.4f", best.validationAccuracy()));
            return new JobResult("train", out.target(), manifest.id(), rows.count(), seconds);
        }
    }

    /** The objective's loss: soft and hard terms for kd, plain cross-entropy on hard labels otherwise. */
    private static DistillationLoss loss(Objective objective, double temperature, double alpha) {
        return objective == Objective.KD ? new DistillationLoss(temperature, alpha) : DistillationLoss.hardLabelsOnly();
    }

    private static String describe(TrainerSettings s) {
        return "parameter-averaging(workers=" + s.workers() + ", batch=" + s.batchSize() + ", averaging="
                + s.averagingFrequency() + ")";
    }

    private Trial trainOne(TrainConfig config, Architecture arch, TrainerSettings settings, Inputs in,
                           JavaRDD<DataSet> batches, LabelledSet validation, double t, double alpha,
                           List<String> scoreLines) {
        MultiLayerNetwork net = arch.build(in.featureCount(), in.classes(), loss(config.objective(), t, alpha),
                config.learningRate(), config.seed());
        DistributedTrainer trainer = new ParameterAveragingTrainer(
                JavaSparkContext.fromSparkContext(spark.sparkContext()), net, settings);
        LOG.info("trial T={} alpha={}: {} parameters, {}", t, alpha, net.numParams(), trainer.describe());
        double bestAcc = -1;
        int bestEpoch = 0;
        INDArray bestParams = null;
        for (int epoch = 1; epoch <= config.epochs(); epoch++) {
            long t0 = System.nanoTime();
            trainer.fitEpoch(batches, epoch);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double acc = validation == null ? Double.NaN
                    : Scoring.accuracy(Scoring.logits(new LogitModel(trainer.network()), validation.features()),
                    validation.labels());
            scoreLines.add(scoreLine(t, alpha, epoch, trainer.lastScore(), acc, seconds));
            LOG.info("T={} alpha={} epoch {}/{}: score {} validation accuracy {} ({} s)", t, alpha, epoch,
                    config.epochs(), String.format("%.4f", trainer.lastScore()), String.format("%.4f", acc),
                    String.format("%.1f", seconds));
            if (validation == null || acc > bestAcc) {
                bestAcc = acc;
                bestEpoch = epoch;
                bestParams = trainer.network().params().dup();
            } else if (epoch - bestEpoch >= config.patience()) {
                LOG.info("no validation gain for {} epochs: stopping at epoch {}", config.patience(), epoch);
                break;
            }
        }
        return new Trial(t, alpha, bestEpoch, bestAcc, bestParams);
    }

    private static String scoreLine(double t, double alpha, int epoch, double score, double acc, double seconds) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("temperature", t);
        m.put("alpha", alpha);
        m.put("epoch", epoch);
        m.put("trainScore", score);
        m.put("validationAccuracy", Double.isNaN(acc) ? null : acc);
        m.put("seconds", seconds);
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
