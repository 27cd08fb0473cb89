package org.distillery.jobs.evaluate;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.LabelledSet;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.Scoring;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scores the teacher and each model on the test split: accuracy (overall and per class), top-1 agreement with the
 * teacher, mean KL(teacher || model), calibration (ECE), parameter count, model bytes and single-example latency.
 * Publishes {@code report.json} and prints a table.
 */
public final class EvaluateJob {
    private static final Logger LOG = LoggerFactory.getLogger(EvaluateJob.class);
    public static final String REPORT = "report.json";
    private final SparkSession spark;

    public EvaluateJob(SparkSession spark) {
        this.spark = spark;
    }

    /** The published result and the report as written. */
    public record Result(JobResult job, Map<String, Map<String, Object>> models, String table) {
    }

    public Result run(EvaluateConfig config) {
        return run(config, PublishMode.FAIL_IF_EXISTS);
    }

    /** Every rule a run checks before Spark reads a row: test split, every model against it, the output rule. */
    static Map<String, ModelArtifact> check(Storage storage, EvaluateConfig config, PublishMode mode) {
        StagedOutput.check(storage, config.out(), mode);
        Manifest test = TransferTables.checkTransfer(storage, config.test());
        int features = (int) test.number(TransferSchema.FEATURE_COUNT);
        int classes = (int) test.number(TransferSchema.CLASSES);
        if (config.validation() != null) {
            Manifest validation = TransferTables.checkTransfer(storage, config.validation());
            if (validation.id().equals(test.id())) {
                throw new IllegalArgumentException("calibration must not be fitted on the test split: --validation "
                        + config.validation() + " is the test split (manifest " + test.id() + ")");
            }
            if ((int) validation.number(TransferSchema.CLASSES) != classes) {
                throw new IllegalArgumentException("validation split has " + (int) validation.number(
                        TransferSchema.CLASSES) + " classes, the test split " + classes + ": " + config.validation());
            }
            if ((int) validation.number(TransferSchema.FEATURE_COUNT) != features) {
                throw new IllegalArgumentException("validation split has " + (int) validation.number(
                        TransferSchema.FEATURE_COUNT) + " features, the test split " + features + ": "
                        + config.validation());
            }
            TransferTables.requireSameMeaning(test, config.test(), validation, config.validation());
        }
        Map<String, ModelArtifact> artifacts = new LinkedHashMap<>();
        artifacts.put("teacher", ModelArtifact.read(storage, config.teacher()));
        config.models().forEach((name, path) -> artifacts.put(name, ModelArtifact.read(storage, path)));
        artifacts.forEach((name, artifact) -> {
            LogitModel model = new LogitModel(artifact.network());
            if (model.inputs() != features || model.classes() != classes) {
                throw new IllegalArgumentException("model " + name + " maps " + model.inputs() + " features to "
                        + model.classes() + " classes, the test split has " + features + " and " + classes + ": "
                        + artifact.path());
            }
            if (artifact.manifest() != null) { // trained on data that meant the same (classes, transform)?
                TransferTables.requireSameMeaning(test, config.test(), artifact.manifest(), artifact.path());
            }
        });
        return artifacts;
    }

    /** Checks everything a run would, without Spark, and says what the run would do. */
    public static DryRun dryRun(Storage storage, EvaluateConfig config, PublishMode mode) {
        Map<String, ModelArtifact> artifacts = check(storage, config, mode);
        Manifest test = storage.publishedManifest(config.test());
        DryRun plan = new DryRun("evaluate").with("test", storage.qualify(config.test()) + " (manifest " + test.id()
                + ", " + (long) test.number("rows") + " rows)");
        artifacts.forEach((name, a) -> plan.with(name, a.zipPath() + " (sha256 " + a.sha256() + ")"));
        return plan.with("out", storage.qualify(config.out()) + " (" + StagedOutput.describe(storage, config.out(), mode)
                + ")");
    }

    /** As {@link #run(EvaluateConfig)}; with {@link PublishMode#OVERWRITE} an existing report is replaced at the end. */
    public Result run(EvaluateConfig config, PublishMode mode) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        Map<String, ModelArtifact> artifacts = check(storage, config, mode);
        TransferTables.Transfer testSplit = TransferTables.readTransfer(spark, config.test());
        LabelledSet test = LabelledSet.collect(testSplit);
        LabelledSet validation = config.validation() == null ? null
                : LabelledSet.collect(TransferTables.readTransfer(spark, config.validation()));

        List<String> classNames = TransferSchema.classNames(testSplit.manifest());
        float[][] teacherLogits = null;
        Map<String, Map<String, Object>> report = new LinkedHashMap<>();
        Map<String, Manifest.Input> inputs = new LinkedHashMap<>();
        inputs.put("test", new Manifest.Input(testSplit.path(), testSplit.manifest().id()));
        if (validation != null) {
            inputs.put("validation", new Manifest.Input(validation.path(), validation.manifestId()));
        }
        for (Map.Entry<String, ModelArtifact> e : artifacts.entrySet()) {
            ModelArtifact artifact = e.getValue();
            LogitModel model = new LogitModel(artifact.network());
            float[][] logits = Scoring.logits(model, test.features());
            if (teacherLogits == null) {
                teacherLogits = logits;
            }
            Map<String, Object> entry = entry(artifact, model, logits, teacherLogits, test, classNames,
                    config.latencyRuns());
            if (validation != null) {
                entry.put("calibration", Calibrated.fit(Scoring.logits(model, validation.features()),
                        validation.labels(), logits, test.labels(), testSplit.classes()));
            }
            report.put(e.getKey(), entry);
            inputs.put(e.getKey(), artifact.asInput());
            LOG.info("scored {}: accuracy {}", e.getKey(), report.get(e.getKey()).get("accuracy"));
        }
        String table = Report.table(report) + Report.perClassTable(report, classNames)
                + (validation == null ? "" : Report.calibrationTable(report));
        try (StagedOutput out = StagedOutput.begin(storage, config.out(), mode)) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("test", testSplit.path());
            doc.put("test_rows", test.size());
            doc.put("class_names", classNames);
            if (validation != null) {
                doc.put("calibration_fitted_on", validation.path());
            }
            doc.put("models", report);
            String json = Manifest.json(doc);
            storage.writeText(out.path(REPORT), json);
            Manifest manifest = Manifest.sealed("evaluate", config, inputs,
                    Manifest.facts("rows", test.size(), "models", report.keySet().stream().toList()),
                    Versions.current(), java.time.Instant.now().toString());
            return new Result(out.publish(manifest, test.size(), start), report, table);
        }
    }

    private static Map<String, Object> entry(ModelArtifact artifact, LogitModel model, float[][] logits,
                                             float[][] teacher, LabelledSet test, List<String> classNames,
                                             int latencyRuns) {
        int classes = classNames.size();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("accuracy", Scoring.accuracy(logits, test.labels()));
        m.put("agreement_with_teacher", Metrics.agreement(logits, teacher));
        m.put("mean_kl_from_teacher", Metrics.meanKl(logits, teacher));
        m.put("ece", Metrics.ece(logits, test.labels()));
        m.put("params", model.network().numParams());
        m.put("model_bytes", (long) Models.toBytes(model.network(), false).length);
        m.put("latency_ms_p50", latencyMillis(model.network(), test.features(), latencyRuns));
        double[] perClass = Metrics.perClassAccuracy(logits, test.labels(), classes);
        m.put("per_class_accuracy", perClass);
        m.put("per_class", Metrics.perClass(classNames, perClass, test.labels()));
        if (artifact.manifest() != null) {
            Map<String, Object> f = artifact.manifest().facts();
            for (String k : new String[] {"objective", "temperature", "alpha", "architecture", "labelledRows", "rows"}) {
                if (f.containsKey(k)) {
                    m.put(k, f.get(k));
                }
            }
        }
        m.put("sha256", artifact.sha256());
        return m;
    }

    /** Median wall time of one single-example forward pass, after the same number of warm-up calls. */
    private static double latencyMillis(MultiLayerNetwork net, INDArray features, int runs) {
        long[] nanos = new long[runs];
        for (int i = 0; i < 2 * runs; i++) {
            INDArray row = features.getRow(i % features.size(0), true);
            long t0 = System.nanoTime();
            net.output(row, false);
            if (i >= runs) {
                nanos[i - runs] = System.nanoTime() - t0;
            }
        }
        return Metrics.median(nanos) / 1e6;
    }
}
