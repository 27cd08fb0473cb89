package org.distillery.jobs.evaluate;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.LabelledSet;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.Scoring;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.jobs.export.OnnxModels;
import org.distillery.model.nn.LogitFunction;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.ModelFormat;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scores the teacher and each model on the test split: accuracy (overall and per class), top-1 agreement with the
 * teacher, mean KL(teacher || model), calibration (ECE), parameter count, model bytes and single-example latency.
 * Publishes {@code report.json} and prints a table. A text test split (its manifest says so) is scored by language
 * models instead: {@link LmEvaluation}.
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

    /**
     * What a run scores: the test split and the calibration split (null: none) resolved once, the models by name, the
     * teacher first when there is one, and the ONNX output the teacher's soft targets were read from (null: its only
     * output).
     */
    record Checked(ResolvedInput test, ResolvedInput validation, Map<String, ModelArtifact> artifacts,
                   String teacherOutput) {
    }

    /** Every rule a run checks before Spark reads a row: test split, every model against it, the output rule. */
    static Checked check(Storage storage, EvaluateConfig config, PublishMode mode) {
        OutputRule.of(storage).input("--test", config.test()).input("--validation", config.validation())
                .input("--teacher", config.teacher()).inputs("--model", config.models().values())
                .check("--out", config.out());
        StagedOutput.check(storage, config.out(), mode);
        ResolvedInput testInput = TransferTables.resolveTransfer(storage, config.test());
        Manifest test = testInput.manifest();
        int features = (int) test.number(TransferSchema.FEATURE_COUNT);
        int classes = (int) test.number(TransferSchema.CLASSES);
        ResolvedInput validationInput = config.validation() == null ? null
                : TransferTables.resolveTransfer(storage, config.validation());
        if (validationInput != null) {
            Manifest validation = validationInput.manifest();
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
        Map<String, ModelArtifact> models = new LinkedHashMap<>();
        config.models().forEach((name, path) -> models.put(name, ModelArtifact.read(storage, path)));
        models.forEach((name, artifact) -> {
            if (artifact.manifest() != null && "lm".equals(artifact.manifest().facts().get("task"))) {
                throw new IllegalArgumentException("model " + name + " is a language model: " + artifact.path()
                        + "; score it on a text test split (ingest --format text), not on " + config.test());
            }
        });
        Map<String, ModelArtifact> artifacts = new LinkedHashMap<>();
        Reference teacher = teacher(storage, config, models);
        String teacherOutput = teacher == null ? null : teacher.output();
        if (teacher != null) {
            artifacts.put("teacher", teacher.artifact());
            OutputRule.of(storage).input("--teacher", teacher.artifact().path()).check("--out", config.out());
        }
        artifacts.putAll(models);
        artifacts.forEach((name, artifact) -> {
            LogitFunction model = model(name, artifact, TransferSchema.shape(test), teacherOutput);
            if (model.inputs() != features || model.classes() != classes) {
                throw new IllegalArgumentException("model " + name + " maps " + model.inputs() + " features to "
                        + model.classes() + " classes, the test split has " + features + " and " + classes + ": "
                        + artifact.path());
            }
            if (artifact.manifest() != null) { // trained on data that meant the same (classes, transform)?
                TransferTables.requireSameMeaning(test, config.test(), artifact.manifest(), artifact.path());
            }
        });
        return new Checked(testInput, validationInput, artifacts, teacherOutput);
    }

    /**
     * A model to score: DL4J zips and Keras files through {@link LogitModel}, ONNX models (an ONNX teacher, an export's
     * model.onnx or model-int8.onnx) through ONNX Runtime; the teacher's {@code teacherOutput} when it has several.
     */
    static LogitFunction model(String name, ModelArtifact artifact, int[] exampleShape, String teacherOutput) {
        return artifact.format() == ModelFormat.ONNX
                ? artifact.teacher(exampleShape, name.equals("teacher") ? teacherOutput : null)
                : new LogitModel(artifact.network());
    }

    /**
     * The reference of agreement and KL: {@code --teacher}, which must be the teacher the distilled models came from
     * (unless allowed otherwise), or without it that teacher, read from where it was labelled from; null when their
     * soft targets were imported (the teacher does not run here: no agreement or KL).
     */
    static Reference teacher(Storage storage, EvaluateConfig config, Map<String, ModelArtifact> models) {
        if (config.teacher() != null && config.allowOtherTeacher()) {
            return new Reference(ModelArtifact.read(storage, config.teacher()), null);
        }
        TeacherPin pin = TeacherPin.of(storage, models);
        if (config.teacher() != null) {
            ModelArtifact teacher = ModelArtifact.read(storage, config.teacher());
            return new Reference(teacher, pin == null ? null : pin.check(teacher).output());
        }
        if (pin == null && mutualPeers(models)) {
            LOG.info("no --teacher, and mutual-learning peers among the models (they learnt without one): no agreement"
                    + " or KL");
            return null;
        }
        if (pin == null) {
            throw new IllegalArgumentException("--teacher is needed: no --model was distilled from soft targets that"
                    + " name their teacher");
        }
        if (pin.imported()) {
            LOG.info("{} distilled from imported outputs (sha256 {}): no teacher runs here, no agreement or KL",
                    pin.students(), pin.teacherSha256());
            return null;
        }
        if (pin.members().size() != 1) {
            throw new IllegalArgumentException(pin.who() + " distilled from an ensemble (" + pin.describe()
                    + "): pass --teacher, one of them, to measure agreement against");
        }
        TeacherPin.Member member = pin.members().get(0);
        ModelArtifact teacher = ModelArtifact.read(storage, member.path());
        if (!teacher.sha256().equals(member.sha256())) {
            throw new IllegalArgumentException("the teacher " + pin.who() + " distilled from, " + member.path()
                    + ", has changed since (sha256 " + teacher.sha256() + ", labelled with " + member.sha256()
                    + "): pass --teacher");
        }
        LOG.info("teacher: {} (sha256 {}), the one {} came from", member.path(), member.sha256(), pin.students());
        return new Reference(teacher, member.output());
    }

    /** Whether a model is a peer of a mutual-learning run, which has no teacher to compare with. */
    private static boolean mutualPeers(Map<String, ModelArtifact> models) {
        return models.values().stream().anyMatch(a -> a.manifest() != null
                && "mutual".equals(a.manifest().facts().get("objective")));
    }

    /** The teacher scored as the reference, and the ONNX output read from it (null: its only output). */
    record Reference(ModelArtifact artifact, String output) {
    }

    /** Checks everything a run would, without Spark, and says what the run would do. */
    public static DryRun dryRun(Storage storage, EvaluateConfig config, PublishMode mode) {
        if (LmEvaluation.isText(storage, config.test())) {
            return LmEvaluation.dryRun(storage, config, mode);
        }
        Checked checked = check(storage, config, mode);
        Manifest test = checked.test().manifest();
        DryRun plan = new DryRun("evaluate").with("test", checked.test().path() + " (manifest " + test.id()
                + ", " + (long) test.number("rows") + " rows)");
        checked.artifacts().forEach((name, a) -> plan.with(name, a.zipPath() + " (sha256 " + a.sha256() + ")"));
        return plan.with("out", storage.qualify(config.out()) + " (" + StagedOutput.describe(storage, config.out(), mode)
                + ")");
    }

    /** As {@link #run(EvaluateConfig)}; with {@link PublishMode#OVERWRITE} an existing report is replaced at the end. */
    public Result run(EvaluateConfig config, PublishMode mode) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        if (LmEvaluation.isText(storage, config.test())) {
            return LmEvaluation.run(spark, config, mode);
        }
        Checked checked = check(storage, config, mode);
        Map<String, ModelArtifact> artifacts = checked.artifacts();
        TransferTables.Transfer testSplit = TransferTables.readTransfer(spark, checked.test());
        LabelledSet test = LabelledSet.collect(testSplit);
        LabelledSet validation = checked.validation() == null ? null
                : LabelledSet.collect(TransferTables.readTransfer(spark, checked.validation()));

        List<String> classNames = TransferSchema.classNames(testSplit.manifest());
        float[][] teacherLogits = null;
        Map<String, Map<String, Object>> report = new LinkedHashMap<>();
        Map<String, Manifest.Input> inputs = new LinkedHashMap<>();
        inputs.put("test", new Manifest.Input(testSplit.path(), testSplit.manifest().id()));
        if (validation != null) {
            inputs.put("validation", new Manifest.Input(validation.path(), validation.manifestId()));
        }
        Map<String, float[][]> testLogits = new LinkedHashMap<>();
        Map<String, float[][]> validationLogits = new LinkedHashMap<>();
        for (Map.Entry<String, ModelArtifact> e : artifacts.entrySet()) {
            ModelArtifact artifact = e.getValue();
            LogitFunction model = model(e.getKey(), artifact, TransferSchema.shape(testSplit.manifest()),
                    checked.teacherOutput());
            float[][] logits = Scoring.logits(model, test.features());
            testLogits.put(e.getKey(), logits);
            if (teacherLogits == null && e.getKey().equals("teacher")) {
                teacherLogits = logits;
            }
            Map<String, Object> entry = entry(artifact, model, logits, teacherLogits, test, classNames,
                    config.latencyRuns());
            if (validation != null) {
                validationLogits.put(e.getKey(), Scoring.logits(model, validation.features()));
                entry.put("calibration", Calibrated.fit(validationLogits.get(e.getKey()), validation.labels(), logits,
                        test.labels(), testSplit.classes()));
            }
            report.put(e.getKey(), entry);
            inputs.put(e.getKey(), artifact.asInput());
            LOG.info("scored {}: accuracy {}", e.getKey(), report.get(e.getKey()).get("accuracy"));
        }
        Ensembles.add(report, artifacts, testLogits, validationLogits, teacherLogits, test, validation, classNames);
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

    private static Map<String, Object> entry(ModelArtifact artifact, LogitFunction model, float[][] logits,
                                             float[][] teacher, LabelledSet test, List<String> classNames,
                                             int latencyRuns) {
        int classes = classNames.size();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("accuracy", Scoring.accuracy(logits, test.labels()));
        m.put("agreement_with_teacher", teacher == null ? null : Metrics.agreement(logits, teacher));
        m.put("mean_kl_from_teacher", teacher == null ? null : Metrics.meanKl(logits, teacher));
        m.put("ece", Metrics.ece(logits, test.labels()));
        m.put("format", artifact.format().label());
        if (model instanceof LogitModel dl4j) {
            m.put("params", dl4j.network().numParams());
            m.put("model_bytes", (long) Models.toBytes(dl4j.network(), false).length);
            m.put("latency_ms_p50", latencyMillis(row -> dl4j.network().output(row, false), test.features(),
                    latencyRuns));
        } else { // an ONNX file: counted and timed as the file it is, run by ONNX Runtime
            m.put("params", OnnxModels.parameters(artifact.bytes(), artifact.zipPath()));
            m.put("model_bytes", (long) artifact.bytes().length);
            m.put("latency_ms_p50", latencyMillis(model::logits, test.features(), latencyRuns));
        }
        double[] perClass = Metrics.perClassAccuracy(logits, test.labels(), classes);
        m.put("per_class_accuracy", perClass);
        m.put("per_class", Metrics.perClass(classNames, perClass, test.labels()));
        if (artifact.manifest() != null) {
            Map<String, Object> f = artifact.manifest().facts();
            for (String k : new String[] {"objective", "temperature", "alpha", "architecture", "labelledRows", "rows",
                "peers", "peer"}) {
                if (f.containsKey(k)) {
                    m.put(k, f.get(k));
                }
            }
        }
        m.put("sha256", artifact.sha256());
        return m;
    }

    /** Median wall time of one single-example forward pass, after the same number of warm-up calls. */
    private static double latencyMillis(java.util.function.Consumer<INDArray> model, INDArray features, int runs) {
        long[] nanos = new long[runs];
        for (int i = 0; i < 2 * runs; i++) {
            INDArray row = features.getRow(i % features.size(0), true);
            long t0 = System.nanoTime();
            model.accept(row);
            if (i >= runs) {
                nanos[i - runs] = System.nanoTime() - t0;
            }
        }
        return Metrics.median(nanos) / 1e6;
    }
}
