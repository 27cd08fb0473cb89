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
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.jobs.train.averaging.DistributedTrainer;
import org.distillery.jobs.train.averaging.OffHeapLimits;
import org.distillery.jobs.train.averaging.ParameterAveragingTrainer;
import org.distillery.jobs.train.averaging.TrainerSettings;
import org.distillery.model.loss.TokenDistillationLoss;
import org.distillery.model.nn.LstmArchitecture;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.text.NextTokenMetrics;
import org.distillery.model.text.Windowing;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code train --task lm}: a character-level LSTM language model ({@link LstmArchitecture}) trained on a text transfer
 * set with the same parameter-averaging engine as the classifiers, over the scored positions only (the burn-in and
 * padding masked): next-token cross-entropy for objective hard ({@link TokenDistillationLoss#hardLabelsOnly}), and for
 * kd the token-level distillation loss against the teacher's stored logits at one temperature and alpha
 * ({@link TokenDistillationLoss}: forward KL, reverse KL or JSD per token, plus (1 - alpha) cross-entropy; the windows
 * are read from the token soft targets, which carry them). Each epoch is scored
 * on the validation windows in bits per character, the best epoch is kept (early stopping by patience, checkpoints
 * and resume as for classifiers), and the published manifest records the vocabulary (code points and SHA-256), the
 * windowing and the architecture, so that a label job can check a text set against its teacher.
 */
final class LmTraining {
    private static final Logger LOG = LoggerFactory.getLogger(LmTraining.class);
    private final SparkSession spark;

    LmTraining(SparkSession spark) {
        this.spark = spark;
    }

    /** What {@link #check} established without Spark. */
    record Checked(LmInputs inputs, Checkpoints checkpoints) {
    }

    /** Every rule an LM run checks before Spark reads a row; a dry run stops here. */
    static Checked check(Storage storage, TrainConfig config) {
        OutputRule rule = OutputRule.of(storage).input("--transfer", config.data().transfer())
                .input("--validation", config.data().validation());
        rule.check("--out", config.out());
        if (config.checkpointing().dir() != null) {
            rule.check("--checkpoint-dir", config.checkpointing().dir());
        }
        LmInputs in = LmInputs.check(storage, config);
        StagedOutput.check(storage, config.out(), config.mode());
        return new Checked(in, Checkpoints.open(storage, config, in.manifestInputs()));
    }

    static DryRun dryRun(Storage storage, TrainConfig config) {
        LmInputs in = check(storage, config).inputs();
        DryRun plan = new DryRun("train").with("task", Task.LM.id()).with("objective", config.objective().id());
        in.manifestInputs().forEach((role, input) -> plan.with(role, input.path() + " (manifest " + input.manifestId()
                + ")"));
        LstmArchitecture arch = config.lm().architecture();
        plan.with("windows", in.windows() + (config.data().windows() == null ? ""
                        : " (trains on the first " + config.data().windows() + " of the seeded order)"))
                .with("model", arch.spec() + " over " + in.vocabulary().size() + " tokens, "
                        + arch.parameters(in.vocabulary().size()) + " parameters; windows of "
                        + in.windowing().length() + " tokens, burn-in " + in.windowing().burnIn())
                .with("loss", loss(config, in).name())
                .with("epochs", "up to " + config.schedule().epochs())
                .with("trainer", TrainJob.describe(config.settings()) + ", " + config.averaging().engine())
                .with("checkpoints", config.checkpointing().dir() == null ? "none"
                        : storage.qualify(config.checkpointing().dir())
                        + (config.checkpointing().resume() ? " (resume)" : ""))
                .with("out", storage.qualify(config.out()) + " ("
                        + StagedOutput.describe(storage, config.out(), config.mode()) + ")");
        return plan;
    }

    /** An epoch's outcome kept as the run goes: the best epoch's parameters and validation bits/char. */
    private record Best(int epoch, double bitsPerChar, INDArray params) {
    }

    JobResult run(TrainConfig config) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        OffHeapLimits.check(spark.sparkContext().getConf());
        Checked checked = check(storage, config);
        LmInputs in = checked.inputs();
        int vocabulary = in.vocabulary().size();
        int windowLength = in.windowing().length();
        LstmArchitecture arch = config.lm().architecture();
        TrainerSettings settings = config.settings();
        List<Windowing.Window> validation = in.validation() == null ? null : LmWindows.collect(
                TransferTables.readTransfer(spark, in.validation()).rows(), vocabulary, windowLength);
        LOG.info("training an LM {} over {} tokens on {} windows of {} tokens (burn-in {}) from {}; {} validation"
                + " windows", arch.spec(), vocabulary, in.windows(), windowLength, in.windowing().burnIn(),
                in.transfer().path(), validation == null ? "no" : validation.size());

        Checkpoints checkpoints = checked.checkpoints();
        String trial = Checkpoints.trialName(in.temperature(), alpha(config));
        Checkpoints.State resumed = checkpoints == null ? null : checkpoints.latest(trial);
        TokenDistillationLoss loss = loss(config, in);
        MultiLayerNetwork net = resumed != null ? resumed.network()
                : arch.build(vocabulary, loss, config.schedule().learningRate(), config.seed());
        double initial = validation == null ? Double.NaN : LmWindows.score(resumed == null ? net // the untrained LM's
                : arch.build(vocabulary, loss, config.schedule().learningRate(), config.seed()), validation).bitsPerChar();
        List<String> lines = resumed == null ? new ArrayList<>() : new ArrayList<>(resumed.scoreLines());
        Best best = resumed == null ? new Best(0, Double.POSITIVE_INFINITY, null)
                : new Best(resumed.bestEpoch(), -resumed.bestAccuracy(), resumed.bestParams());
        var table = LmWindows.slice(TransferTables.readTransfer(spark, in.trainingTable()).rows(),
                config.data().windows(), config.seed());
        long windows = config.data().windows() != null || in.softTargets() != null ? table.count() : in.windows();
        long tokens = LmWindows.scoredTokens(table);
        LOG.info("training on {} windows, {} scored tokens{}", windows, tokens, config.data().windows() == null ? ""
                : " (the first " + config.data().windows() + " of the seeded order)");
        if (resumed == null || !resumed.finished()) {
            JavaRDD<DataSet> batches = LmWindows.minibatches(table, windows, vocabulary, windowLength, in.layout(),
                    in.temperature(), settings, StorageLevel.fromString(config.averaging().engine().storageLevel()));
            best = train(config, net, batches, validation, checkpoints, trial, resumed, lines, best);
            batches.unpersist(false);
        } else {
            LOG.info("LM training finished before (checkpoint epoch {}), not retrained", resumed.epoch());
        }
        MultiLayerNetwork published = arch.build(vocabulary, loss, config.schedule().learningRate(), config.seed());
        published.setParams(best.params());
        return publish(storage, config, in, arch, published, best, initial, lines, new long[] {windows, tokens},
                start);
    }

    /** The epochs from the first not yet trained: the best epoch by validation bits/char (the last without one). */
    private Best train(TrainConfig config, MultiLayerNetwork net, JavaRDD<DataSet> batches,
                       List<Windowing.Window> validation, Checkpoints checkpoints, String trial,
                       Checkpoints.State resumed, List<String> lines, Best best) {
        DistributedTrainer trainer = new ParameterAveragingTrainer(
                JavaSparkContext.fromSparkContext(spark.sparkContext()), net, config.settings(),
                config.averaging().engine());
        TrainConfig.Schedule schedule = config.schedule();
        LearningRates rates = LearningRates.parse(schedule.lrSchedule(), schedule.learningRate(), schedule.epochs());
        LOG.info("LM: {} parameters, {}", net.numParams(), trainer.describe());
        for (int epoch = resumed == null ? 1 : resumed.epoch() + 1; epoch <= schedule.epochs(); epoch++) {
            long t0 = System.nanoTime();
            double lr = rates.at(epoch);
            trainer.network().setLearningRate(lr);
            double[] roundScores = trainer.fitEpoch(batches, epoch);
            double seconds = (System.nanoTime() - t0) / 1e9;
            NextTokenMetrics m = validation == null ? null : LmWindows.score(trainer.network(), validation);
            double bits = m == null ? Double.NaN : m.bitsPerChar();
            lines.add(scoreLine(epoch, lr, trainer.lastScore(), m, seconds, roundScores));
            LOG.info("LM epoch {}/{}: lr {} train loss {} nats/token, validation {} bits/char, accuracy {} ({} s)",
                    epoch, schedule.epochs(), lr, String.format("%.4f", trainer.lastScore()),
                    String.format("%.4f", bits), m == null ? "-" : String.format("%.4f", m.accuracy()),
                    String.format("%.1f", seconds));
            boolean stop = false;
            if (validation == null || bits < best.bitsPerChar()) {
                best = new Best(epoch, bits, trainer.network().params().dup());
            } else if (epoch - best.epoch() >= schedule.patience()) {
                LOG.info("no validation gain for {} epochs: stopping at epoch {}", schedule.patience(), epoch);
                stop = true;
            }
            if (checkpoints != null) { // the checkpoint's "best accuracy" is minus bits/char: higher is better
                checkpoints.save(trial, new Checkpoints.State(epoch, best.epoch(), -best.bitsPerChar(), best.params(),
                        lines, stop || epoch == schedule.epochs(), trainer.network()), config.seed());
            }
            if (stop) {
                break;
            }
        }
        trainer.close();
        return best;
    }

    private JobResult publish(Storage storage, TrainConfig config, LmInputs in, LstmArchitecture arch,
                              MultiLayerNetwork net, Best best, double initialBits, List<String> lines,
                              long[] windowsAndTokens, long start) {
        try (StagedOutput out = StagedOutput.begin(storage, config.out(), config.mode())) {
            storage.writeBytes(out.path("model.zip"), Models.toBytes(net, false));
            storage.writeText(out.path(TrainJob.SCORES), String.join("\n", lines) + "\n");
            Manifest manifest = Manifest.sealed("train", config, in.manifestInputs(), Manifest.facts(
                    "task", Task.LM.id(), "objective", config.objective().id(),
                    "loss", loss(config, in).name(), "temperature", in.temperature(), "alpha", alpha(config),
                    TextTransferSchema.VOCABULARY, in.vocabulary().codePoints(),
                    TextTransferSchema.VOCABULARY_SIZE, in.vocabulary().size(),
                    TextTransferSchema.VOCABULARY_SHA256, in.vocabulary().sha256(),
                    TextTransferSchema.WINDOW_LENGTH, in.windowing().length(),
                    TextTransferSchema.BURN_IN, in.windowing().burnIn(),
                    "architecture", arch.spec(), "embedding", arch.embedding(), "hidden", arch.hidden(),
                    "parameters", net.numParams(), "bestEpoch", best.epoch(),
                    "validationBitsPerChar", Double.isNaN(best.bitsPerChar()) ? null : best.bitsPerChar(),
                    "initialValidationBitsPerChar", Double.isNaN(initialBits) ? null : initialBits,
                    "rows", windowsAndTokens[0], "trainingTokens", windowsAndTokens[1],
                    "trainer", TrainJob.describe(config.settings())),
                    Versions.current(), java.time.Instant.now().toString());
            JobResult result = out.publish(manifest, windowsAndTokens[0], start);
            LOG.info("trained LM {} in {} s: epoch {}, validation {} bits/char (untrained: {})", arch.spec(),
                    String.format("%.1f", result.seconds()), best.epoch(), String.format("%.4f", best.bitsPerChar()),
                    String.format("%.4f", initialBits));
            return result;
        }
    }

    /** kd's token distillation loss at the run's temperature and alpha; next-token cross-entropy for hard. */
    private static TokenDistillationLoss loss(TrainConfig config, LmInputs in) {
        return config.objective() == Objective.KD
                ? new TokenDistillationLoss(in.temperature(), alpha(config), config.loss().divergence())
                : TokenDistillationLoss.hardLabelsOnly();
    }

    /** The one alpha of the run (the config's default: 1 for kd, 0 for hard). */
    private static double alpha(TrainConfig config) {
        return config.loss().alphas().get(0);
    }

    private static String scoreLine(int epoch, double lr, double score, NextTokenMetrics m, double seconds,
                                    double[] roundScores) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("epoch", epoch);
        line.put("learningRate", lr);
        line.put("trainScore", score);
        line.put("validationBitsPerChar", m == null ? null : m.bitsPerChar());
        line.put("validationAccuracy", m == null ? null : m.accuracy());
        line.put("seconds", seconds);
        line.put("roundScores", roundScores);
        return Manifest.oneLine(line);
    }
}
