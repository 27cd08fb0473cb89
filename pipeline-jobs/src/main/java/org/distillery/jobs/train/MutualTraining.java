package org.distillery.jobs.train;

import java.util.ArrayList;
import java.util.Arrays;
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
import org.distillery.jobs.common.Scoring;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.jobs.train.averaging.DistributedTrainer;
import org.distillery.jobs.train.averaging.OffHeapLimits;
import org.distillery.jobs.train.averaging.ParameterAveragingTrainer;
import org.distillery.jobs.train.averaging.TrainerSettings;
import org.distillery.model.loss.MutualLoss;
import org.distillery.model.nn.Architecture;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.Models;
import org.distillery.model.nn.PeerNetworks;
import org.distillery.model.schema.Manifest;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Objective mutual: K students trained together by the parameter-averaging engine as one network
 * ({@link PeerNetworks}, {@link MutualLoss}), each worker stepping all K on the same minibatch. The epoch with the best
 * mean validation accuracy of the students is kept. Every student is published as its own model at
 * {@code out/student-k} (k = 1..K, student k initialised with seed + k - 1), with a manifest saying how it was
 * trained; {@code out} itself holds the per-epoch scores and a manifest listing the students, all published by one
 * rename.
 */
final class MutualTraining {
    private static final Logger LOG = LoggerFactory.getLogger(MutualTraining.class);
    private final SparkSession spark;

    MutualTraining(SparkSession spark) {
        this.spark = spark;
    }

    /** Where student k (1-based) is published under the run's output. */
    static String studentDir(int k) {
        return "student-" + k;
    }

    /** The best epoch: its number, its parameters and each student's (then the ensemble's) validation accuracy. */
    private record Best(int epoch, INDArray params, double[] accuracies) {
    }

    static DryRun dryRun(Storage storage, TrainConfig config) {
        Inputs.Checked in = TrainJob.check(storage, config).inputs();
        DryRun plan = new DryRun("train").with("objective", config.objective().id());
        in.manifestInputs().forEach((role, input) -> plan.with(role, input.path() + " (manifest " + input.manifestId()
                + ")"));
        return plan.with("rows", (long) in.transferManifest().number("rows"))
                .with("peers", config.peers() + ": " + config.architectures().stream().map(Architecture::spec).toList()
                        + ", " + in.featureCount() + " -> " + in.classes() + " classes, side by side in one network")
                .with("loss", new MutualLoss(config.peers(), temperature(config), alpha(config)).name())
                .with("epochs", "up to " + config.schedule().epochs())
                .with("trainer", TrainJob.describe(config.settings()) + ", " + config.averaging().engine())
                .with("out", storage.qualify(config.out()) + "/" + studentDir(1) + " .. " + studentDir(config.peers())
                        + " (" + StagedOutput.describe(storage, config.out(), config.mode()) + ")");
    }

    private static double temperature(TrainConfig config) {
        return config.loss().temperatures().get(0);
    }

    private static double alpha(TrainConfig config) {
        return config.loss().alphas().get(0);
    }

    JobResult run(TrainConfig config) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        OffHeapLimits.check(spark.sparkContext().getConf());
        Inputs in = Inputs.resolve(spark, TrainJob.check(storage, config).inputs());
        TrainingRows rows = TrainingRows.build(spark, in.transfer(), null, config.data().labelled(), config.seed(),
                Objective.MUTUAL);
        int k = config.peers();
        double t = temperature(config);
        double alpha = alpha(config);
        LOG.info("training {} peers together on {} rows ({} with a hard label) from {}", k, rows.count(),
                rows.labelledCount(), in.transfer().path());
        LabelledSet validation = in.validation() == null ? null : LabelledSet.collect(in.validation());
        List<Architecture> archs = config.architectures();
        TrainerSettings settings = config.settings();
        MutualLoss loss = new MutualLoss(k, t, alpha);
        double lr = config.schedule().learningRate();
        MultiLayerNetwork joint = PeerNetworks.build(archs, in.featureCount(), in.classes(), loss, lr, config.seed());
        JavaRDD<DataSet> batches = rows.minibatches(Objective.MUTUAL, in.classes(), in.featureCount(), t, settings,
                StorageLevel.fromString(config.averaging().engine().storageLevel()));
        List<String> lines = new ArrayList<>();
        Best best = train(config, joint, batches, validation, in.classes(), lines);
        batches.unpersist(false);
        joint.setParams(best.params());

        try (StagedOutput out = StagedOutput.begin(storage, config.out(), config.mode())) {
            List<String> students = new ArrayList<>();
            for (int s = 1; s <= k; s++) {
                MultiLayerNetwork student = PeerNetworks.student(joint, archs, s - 1, in.featureCount(), in.classes(),
                        lr, config.seed());
                String dir = studentDir(s);
                storage.writeBytes(out.path(dir + "/model.zip"), Models.toBytes(student, false));
                Manifest m = out.sealWithin(dir, manifest(config, in, facts(config, in, rows, best, archs, s,
                        student.numParams())), rows.count(), start);
                students.add(dir + " (manifest " + m.id() + ")");
            }
            storage.writeText(out.path(TrainJob.SCORES), String.join("\n", lines) + "\n");
            Map<String, Object> facts = facts(config, in, rows, best, archs, 0, joint.numParams());
            facts.put("students", students);
            JobResult result = out.publish(manifest(config, in, facts), rows.count(), start);
            LOG.info("trained {} peers in {} s: epoch {}, validation accuracy per student {}, of their ensemble {}", k,
                    String.format("%.1f", result.seconds()), best.epoch(), accuracies(best.accuracies(), k),
                    String.format("%.4f", best.accuracies()[k]));
            return result;
        }
    }

    private Best train(TrainConfig config, MultiLayerNetwork joint, JavaRDD<DataSet> batches, LabelledSet validation,
                       int classes, List<String> lines) {
        int k = config.peers();
        DistributedTrainer trainer = new ParameterAveragingTrainer(
                JavaSparkContext.fromSparkContext(spark.sparkContext()), joint, config.settings(),
                config.averaging().engine());
        TrainConfig.Schedule schedule = config.schedule();
        LearningRates rates = LearningRates.parse(schedule.lrSchedule(), schedule.learningRate(), schedule.epochs());
        LOG.info("{} peers side by side: {} parameters, {}", k, joint.numParams(), trainer.describe());
        Best best = null;
        double bestMean = -1;
        for (int epoch = 1; epoch <= schedule.epochs(); epoch++) {
            long t0 = System.nanoTime();
            double lr = rates.at(epoch);
            trainer.network().setLearningRate(lr);
            double[] roundScores = trainer.fitEpoch(batches, epoch);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double[] acc = validation == null ? null : accuracies(trainer.network(), validation, k, classes);
            double mean = acc == null ? Double.NaN : Arrays.stream(acc, 0, k).average().orElseThrow();
            lines.add(scoreLine(config, epoch, lr, trainer.lastScore(), acc, seconds, roundScores));
            LOG.info("mutual epoch {}/{}: lr {} score {} validation accuracy per student {} ({} s)", epoch,
                    schedule.epochs(), lr, String.format("%.4f", trainer.lastScore()),
                    acc == null ? "-" : accuracies(acc, k), String.format("%.1f", seconds));
            if (validation == null || mean > bestMean) {
                bestMean = mean;
                best = new Best(epoch, trainer.network().params().dup(), acc == null ? nans(k + 1) : acc);
            } else if (epoch - best.epoch() >= schedule.patience()) {
                LOG.info("no validation gain for {} epochs: stopping at epoch {}", schedule.patience(), epoch);
                break;
            }
        }
        trainer.close();
        return best;
    }

    /** Each student's validation accuracy, then that of their ensemble (the mean of their softmax outputs). */
    static double[] accuracies(MultiLayerNetwork joint, LabelledSet validation, int peers, int classes) {
        float[][] z = Scoring.logits(new LogitModel(joint), validation.features());
        double[] acc = new double[peers + 1];
        float[][] ensemble = new float[z.length][classes];
        for (int s = 0; s < peers; s++) {
            float[][] student = new float[z.length][];
            for (int i = 0; i < z.length; i++) {
                student[i] = Arrays.copyOfRange(z[i], s * classes, (s + 1) * classes);
                float[] p = org.distillery.model.loss.SoftTargets.soften(student[i], 1.0);
                for (int c = 0; c < classes; c++) {
                    ensemble[i][c] += p[c] / peers;
                }
            }
            acc[s] = Scoring.accuracy(student, validation.labels());
        }
        acc[peers] = Scoring.accuracy(ensemble, validation.labels()); // argmax of probabilities, as of logits
        return acc;
    }

    private static double[] nans(int n) {
        double[] a = new double[n];
        Arrays.fill(a, Double.NaN);
        return a;
    }

    private static String accuracies(double[] acc, int peers) {
        List<String> s = new ArrayList<>();
        for (int i = 0; i < peers; i++) {
            s.add(String.format("%.4f", acc[i]));
        }
        return s.toString();
    }

    /** The facts of student {@code s} (1-based), or with s = 0 of the run as a whole. */
    private static Map<String, Object> facts(TrainConfig config, Inputs in, TrainingRows rows, Best best,
                                             List<Architecture> archs, int s, long parameters) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("objective", Objective.MUTUAL.id());
        f.put("peers", config.peers());
        if (s > 0) {
            f.put("peer", s);
            f.put("architecture", archs.get(s - 1).spec());
            f.put("initSeed", config.seed() + s - 1);
        } else {
            f.put("architectures", archs.stream().map(Architecture::spec).toList());
        }
        f.put("temperature", temperature(config));
        f.put("alpha", alpha(config));
        f.put("bestEpoch", best.epoch());
        double[] acc = best.accuracies();
        f.put("validationAccuracy", s > 0 ? nullIfNaN(acc[s - 1]) : Arrays.stream(acc, 0, config.peers())
                .mapToObj(MutualTraining::nullIfNaN).toList());
        f.put("ensembleValidationAccuracy", nullIfNaN(acc[config.peers()]));
        f.put("rows", rows.count());
        f.put("labelledRows", rows.labelledCount());
        f.put("classes", in.classes());
        f.put("featureCount", in.featureCount());
        f.put("parameters", parameters);
        f.put("trainer", TrainJob.describe(config.settings()));
        return f;
    }

    private static Double nullIfNaN(double v) {
        return Double.isNaN(v) ? null : v;
    }

    private static Manifest manifest(TrainConfig config, Inputs in, Map<String, Object> facts) {
        return Manifest.sealed("train", config, in.manifestInputs(),
                TransferTables.withMeaning(in.checked().transferManifest(), facts), Versions.current(),
                java.time.Instant.now().toString());
    }

    private static String scoreLine(TrainConfig config, int epoch, double lr, double score, double[] acc,
                                    double seconds, double[] roundScores) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("temperature", temperature(config));
        m.put("alpha", alpha(config));
        m.put("epoch", epoch);
        m.put("learningRate", lr);
        m.put("trainScore", score); // the sum of the K students' losses
        m.put("validationAccuracy", acc == null ? null
                : Arrays.stream(acc, 0, config.peers()).boxed().toList());
        m.put("ensembleValidationAccuracy", acc == null ? null : acc[config.peers()]);
        m.put("seconds", seconds);
        m.put("roundScores", roundScores);
        return Manifest.oneLine(m);
    }
}
