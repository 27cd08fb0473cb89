package org.distillery.jobs.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.LabelledSet;
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.Scoring;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.jobs.train.averaging.DistributedTrainer;
import org.distillery.jobs.train.averaging.OffHeapLimits;
import org.distillery.jobs.train.averaging.ParameterAveragingTrainer;
import org.distillery.jobs.train.averaging.TrainerSettings;
import org.distillery.model.loss.CompositeLoss;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.nn.Architecture;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a network with the distributed trainer: a KD student on soft targets, a hard-label baseline (or the teacher
 * itself), or a pseudo-label student; or K peers learning from each other ({@code mutual}, {@link MutualTraining}). For each (T, alpha) in the grid it keeps the epoch with the best validation
 * accuracy, then publishes the best grid point's model with every point's scores. {@code --task lm} trains a language
 * model on a text transfer set instead ({@link LmTraining}).
 */
public final class TrainJob {
    private static final Logger LOG = LoggerFactory.getLogger(TrainJob.class);
    static final String SCORES = "scores.jsonl";
    static final String STATS = "training-stats.html";
    private final SparkSession spark;

    public TrainJob(SparkSession spark) {
        this.spark = spark;
    }

    /** One grid point's outcome. */
    record Trial(double temperature, double alpha, int bestEpoch, double validationAccuracy, INDArray params,
                 List<String> scoreLines, String statsHtml) {
    }

    /** What {@link #check} established without Spark: the inputs and the run's checkpoints (null: none). */
    record Checked(Inputs.Checked inputs, Checkpoints checkpoints) {
    }

    /** Every rule a run checks before Spark reads a row; a dry run stops here. */
    static Checked check(Storage storage, TrainConfig config) {
        OutputRule rule = OutputRule.of(storage).input("--soft-targets", config.data().softTargets())
                .input("--transfer", config.data().transfer()).input("--validation", config.data().validation());
        rule.check("--out", config.out());
        if (config.checkpointing().dir() != null) {
            rule.check("--checkpoint-dir", config.checkpointing().dir());
        }
        Inputs.Checked in = Inputs.check(storage, config);
        String transfer = config.data().transfer();
        if (transfer == null || transfer.isBlank()) { // the transfer set the soft targets name
            rule.input("--transfer (from the soft targets' manifest)", in.transfer().path()).check("--out", config.out());
        }
        StagedOutput.check(storage, config.out(), config.mode());
        return new Checked(in, Checkpoints.open(storage, config, in.manifestInputs()));
    }

    /** Checks everything a run would, without Spark, and says what the run would do. */
    public static DryRun dryRun(Storage storage, TrainConfig config) {
        if (config.task() == Task.LM) {
            return LmTraining.dryRun(storage, config);
        }
        if (config.objective() == Objective.MUTUAL) {
            return MutualTraining.dryRun(storage, config);
        }
        Inputs.Checked in = check(storage, config).inputs();
        DryRun plan = new DryRun("train").with("objective", config.objective().id());
        in.manifestInputs().forEach((role, input) -> plan.with(role, input.path() + " (manifest " + input.manifestId()
                + ")"));
        plan.with("rows", (long) in.transferManifest().number("rows"))
                .with("model", config.student().architecture() + ", " + in.featureCount() + " -> " + in.classes()
                        + " classes")
                .with("grid", "T " + in.temperatures() + " x alpha " + config.loss().alphas() + ", up to "
                        + config.schedule().epochs() + " epochs each")
                .with("trainer", describe(config.settings()) + ", " + config.averaging().engine())
                .with("feature terms", config.loss().features() == null ? "none" : config.loss().features().describe()
                        + " against the stored teacher layer (" + in.teacherLayerWidth() + " values)")
                .with("checkpoints", config.checkpointing().dir() == null ? "none"
                        : storage.qualify(config.checkpointing().dir())
                        + (config.checkpointing().resume() ? " (resume)" : ""))
                .with("out", storage.qualify(config.out()) + " ("
                        + StagedOutput.describe(storage, config.out(), config.mode()) + ")");
        return plan;
    }

    public JobResult run(TrainConfig config) {
        if (config.task() == Task.LM) {
            return new LmTraining(spark).run(config);
        }
        if (config.objective() == Objective.MUTUAL) {
            return new MutualTraining(spark).run(config);
        }
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        OffHeapLimits.check(spark.sparkContext().getConf());
        Checked checked = check(storage, config);
        Checkpoints checkpoints = checked.checkpoints();
        Inputs in = Inputs.resolve(spark, checked.inputs());
        TrainingRows rows = TrainingRows.build(spark, in.transfer(), in.softTargets(), config.data().labelled(),
                config.seed(), config.objective(), config.loss().features() != null);
        LOG.info("training {} on {} rows ({} with a hard label) from {}", config.objective().id(), rows.count(),
                rows.labelledCount(), in.transfer().path());
        LabelledSet validation = in.validation() == null ? null : LabelledSet.collect(in.validation());
        Architecture arch = Architecture.parse(config.student().architecture(), config.student().dropout());
        TrainerSettings settings = config.settings();

        List<String> scoreLines = new ArrayList<>();
        Trial best = null;
        String stats = null;
        for (double t : in.temperatures()) {
            JavaRDD<DataSet> batches = null; // built on first need: a resumed run may skip finished trials
            for (double alpha : config.loss().alphas()) {
                String name = Checkpoints.trialName(t, alpha);
                Checkpoints.State resumed = checkpoints == null ? null : checkpoints.latest(name);
                if (batches == null && (resumed == null || !resumed.finished())) {
                    batches = rows.minibatches(config.objective(), in.classes(), in.featureCount(), t, settings,
                            StorageLevel.fromString(config.averaging().engine().storageLevel()));
                }
                Trial trial = trainOne(config, arch, settings, in, batches, validation, t, alpha, checkpoints, resumed);
                scoreLines.addAll(trial.scoreLines());
                stats = trial.statsHtml() != null ? trial.statsHtml() : stats;
                if (best == null || trial.validationAccuracy() > best.validationAccuracy()) {
                    best = trial;
                }
            }
            if (batches != null) {
                batches.unpersist(false);
            }
        }
        ILossFunction bestLoss = loss(config, in, best.temperature(), best.alpha());
        MultiLayerNetwork net = arch.build(in.featureCount(), in.classes(), bestLoss, config.schedule().learningRate(),
                config.seed());
        net.setParams(best.params());
        if (bestLoss instanceof CompositeLoss composite && composite.getHintWidth() > 0) {
            net = arch.withLogitsOnly(net, in.featureCount(), in.classes(), composite.withoutRegressor(),
                    config.schedule().learningRate(), config.seed()); // the regressor only served training
        }
        try (StagedOutput out = StagedOutput.begin(storage, config.out(), config.mode())) {
            storage.writeBytes(out.path("model.zip"), Models.toBytes(net, false));
            storage.writeText(out.path(SCORES), String.join("\n", scoreLines) + "\n");
            if (stats != null) {
                storage.writeText(out.path(STATS), stats);
            }
            Manifest manifest = Manifest.sealed("train", config, in.manifestInputs(),
                    TransferTables.withMeaning(in.checked().transferManifest(),
                            Manifest.facts("objective", config.objective().id(),
                            "divergence", config.loss().divergence().id(),
                            "temperature", best.temperature(),
                            "alpha", best.alpha(), "bestEpoch", best.bestEpoch(),
                            "validationAccuracy", best.validationAccuracy(), "rows", rows.count(),
                            "labelledRows", rows.labelledCount(), "classes", in.classes(),
                            "featureCount", in.featureCount(), "architecture", arch.spec(),
                            "parameters", net.numParams(), "trainer", describe(settings),
                            "featureTerms", config.loss().features() == null ? "none"
                                    : config.loss().features().describe())),
                    Versions.current(), java.time.Instant.now().toString());
            JobResult result = out.publish(manifest, rows.count(), start);
            LOG.info("trained {} in {} s: T={} alpha={} epoch={} validation accuracy={}", config.objective().id(),
                    String.format("%.1f", result.seconds()), best.temperature(), best.alpha(), best.bestEpoch(),
                    String.format("%.4f", best.validationAccuracy()));
            return result;
        }
    }

    /**
     * The objective's loss: soft and hard terms for kd (plus the hint and relation terms when configured), plain
     * cross-entropy on hard labels otherwise.
     */
    private static ILossFunction loss(TrainConfig config, Inputs in, double temperature, double alpha) {
        if (config.objective() != Objective.KD) {
            return DistillationLoss.hardLabelsOnly();
        }
        DistillationLoss kd = new DistillationLoss(temperature, alpha, config.loss().divergence());
        FeatureTerms f = config.loss().features();
        if (f == null) {
            return kd;
        }
        int g = in.teacherLayerWidth();
        return new CompositeLoss(kd, g, f.jointHints() ? f.hintWeight() : 0, f.jointHints() ? g : 0, f.relation(),
                f.relationWeight());
    }

    /**
     * FitNets' first stage: the student's layers up to the guided one, plus a linear regressor, fitted to the stored
     * teacher layer alone (mean squared error) with the same trainer; their parameters then seed {@code student}.
     */
    private void hintStage(TrainConfig config, Architecture arch, TrainerSettings settings, Inputs in,
                           JavaRDD<DataSet> batches, MultiLayerNetwork student, List<String> lines, double t,
                           double alpha) {
        FeatureTerms f = config.loss().features();
        int guided = f.guided(arch.hidden().size());
        int from = 2 * in.classes();
        int g = in.teacherLayerWidth();
        JavaRDD<DataSet> hints = batches.map(ds -> new DataSet(ds.getFeatures(), ds.getLabels().get(
                NDArrayIndex.all(), NDArrayIndex.interval(from,
                        from + g)).dup()));
        MultiLayerNetwork stage = arch.buildHintStage(in.featureCount(), guided, g, config.schedule().learningRate(),
                config.seed());
        DistributedTrainer trainer = new ParameterAveragingTrainer(
                JavaSparkContext.fromSparkContext(spark.sparkContext()), stage, settings, config.averaging().engine());
        LOG.info("trial T={} alpha={}: hint stage, student layers 0-{} + a regressor to the teacher layer's {} values,"
                + " {} epochs", t, alpha, arch.layersThrough(guided) - 1, g, f.hintEpochs());
        for (int epoch = 1; epoch <= f.hintEpochs(); epoch++) {
            long t0 = System.nanoTime();
            double[] roundScores = trainer.fitEpoch(hints, epoch);
            double seconds = (System.nanoTime() - t0) / 1e9;
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("temperature", t);
            m.put("alpha", alpha);
            m.put("stage", "hints");
            m.put("epoch", epoch);
            m.put("trainScore", trainer.lastScore());
            m.put("seconds", seconds);
            m.put("roundScores", roundScores);
            lines.add(Manifest.oneLine(m));
            LOG.info("T={} alpha={} hint epoch {}/{}: mean squared error {} ({} s)", t, alpha, epoch, f.hintEpochs(),
                    String.format("%.4f", trainer.lastScore()), String.format("%.1f", seconds));
        }
        trainer.close();
        Architecture.copyLayers(trainer.network(), student, arch.layersThrough(guided));
    }

    /** Validation accuracy of the logits head (a joint-hint student's output also carries its regressor). */
    private static double accuracy(MultiLayerNetwork net, LabelledSet validation, int classes) {
        float[][] z = Scoring.logits(new LogitModel(net), validation.features());
        if (z.length > 0 && z[0].length > classes) {
            for (int i = 0; i < z.length; i++) {
                z[i] = java.util.Arrays.copyOf(z[i], classes);
            }
        }
        return Scoring.accuracy(z, validation.labels());
    }

    static String describe(TrainerSettings s) {
        return "parameter-averaging(workers=" + s.workers() + ", batch=" + s.batchSize() + ", averaging="
                + s.averagingFrequency() + ")";
    }

    private Trial trainOne(TrainConfig config, Architecture arch, TrainerSettings settings, Inputs in,
                           JavaRDD<DataSet> batches, LabelledSet validation, double t, double alpha,
                           Checkpoints checkpoints, Checkpoints.State resumed) {
        String name = Checkpoints.trialName(t, alpha);
        if (resumed != null && resumed.finished()) {
            LOG.info("trial T={} alpha={}: finished before (checkpoint epoch {}), not retrained", t, alpha,
                    resumed.epoch());
            return new Trial(t, alpha, resumed.bestEpoch(), resumed.bestAccuracy(), resumed.bestParams(),
                    resumed.scoreLines(), null);
        }
        List<String> lines = resumed == null ? new ArrayList<>() : new ArrayList<>(resumed.scoreLines());
        MultiLayerNetwork net = resumed != null ? resumed.network()
                : arch.build(in.featureCount(), in.classes(), loss(config, in, t, alpha),
                config.schedule().learningRate(), config.seed());
        if (resumed == null && config.loss().features() != null && config.loss().features().hintStage()) {
            hintStage(config, arch, settings, in, batches, net, lines, t, alpha);
        }
        DistributedTrainer trainer = new ParameterAveragingTrainer(
                JavaSparkContext.fromSparkContext(spark.sparkContext()), net, settings, config.averaging().engine());
        TrainConfig.Schedule schedule = config.schedule();
        LearningRates rates = LearningRates.parse(schedule.lrSchedule(), schedule.learningRate(), schedule.epochs());
        LOG.info("trial T={} alpha={}: {} parameters, {}", t, alpha, net.numParams(), trainer.describe());
        double bestAcc = resumed == null ? -1 : resumed.bestAccuracy();
        int bestEpoch = resumed == null ? 0 : resumed.bestEpoch();
        INDArray bestParams = resumed == null ? null : resumed.bestParams();
        for (int epoch = resumed == null ? 1 : resumed.epoch() + 1; epoch <= config.schedule().epochs(); epoch++) {
            long t0 = System.nanoTime();
            double lr = rates.at(epoch);
            trainer.network().setLearningRate(lr);
            double[] roundScores = trainer.fitEpoch(batches, epoch);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double acc = validation == null ? Double.NaN : accuracy(trainer.network(), validation, in.classes());
            lines.add(scoreLine(t, alpha, epoch, lr, trainer.lastScore(), acc, seconds, roundScores));
            LOG.info("T={} alpha={} epoch {}/{}: lr {} score {} validation accuracy {} ({} s)", t, alpha, epoch,
                    schedule.epochs(), lr, String.format("%.4f", trainer.lastScore()), String.format("%.4f", acc),
                    String.format("%.1f", seconds));
            boolean stop = false;
            if (validation == null || acc > bestAcc) {
                bestAcc = acc;
                bestEpoch = epoch;
                bestParams = trainer.network().params().dup();
            } else if (epoch - bestEpoch >= config.schedule().patience()) {
                LOG.info("no validation gain for {} epochs: stopping at epoch {}", config.schedule().patience(), epoch);
                stop = true;
            }
            if (checkpoints != null) {
                checkpoints.save(name, new Checkpoints.State(epoch, bestEpoch, bestAcc, bestParams, lines,
                        stop || epoch == config.schedule().epochs(), trainer.network()), config.seed());
            }
            if (stop) {
                break;
            }
        }
        String stats = trainer.statsHtml();
        trainer.close();
        return new Trial(t, alpha, bestEpoch, bestAcc, bestParams, lines, stats);
    }

    private static String scoreLine(double t, double alpha, int epoch, double lr, double score, double acc,
                                    double seconds, double[] roundScores) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("temperature", t);
        m.put("alpha", alpha);
        m.put("epoch", epoch);
        m.put("learningRate", lr);
        m.put("trainScore", score);
        m.put("validationAccuracy", Double.isNaN(acc) ? null : acc);
        m.put("seconds", seconds);
        m.put("roundScores", roundScores); // the training score after each averaging round (an "iteration" here)
        return Manifest.oneLine(m);
    }
}
