package org.distillery.jobs.experiments;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.distillery.jobs.common.LabelledSet;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.Scoring;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Stages;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.jobs.evaluate.EvaluateConfig;
import org.distillery.jobs.evaluate.EvaluateJob;
import org.distillery.jobs.label.LabelConfig;
import org.distillery.jobs.label.LabelJob;
import org.distillery.jobs.train.Objective;
import org.distillery.jobs.train.TrainConfig;
import org.distillery.jobs.train.TrainConfigBuilder;
import org.distillery.jobs.train.TrainJob;
import org.distillery.model.calibration.Calibration;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;

/**
 * Hinton, Vinyals and Dean (2015), section 3: a student distilled on a transfer set from which one class was
 * removed still recognises that class from the teacher's soft targets alone, and a per-class bias correction (here
 * fitted on the validation split) recovers most of what it misses. A student trained on the same transfer set's hard
 * labels is the contrast: it cannot predict a class it never saw. Writes {@code OUT/omitted-class.json}.
 */
public final class OmittedClassJob {
    public static final String RESULT = "omitted-class.json";
    private final SparkSession spark;

    public OmittedClassJob(SparkSession spark) {
        this.spark = spark;
    }

    /** The experiment's table (one row per model) and the JSON written. */
    public record Result(Map<String, Map<String, Object>> models, String table, String path) {
    }

    /** The experiment's inputs, resolved and checked at its start. */
    record Inputs(ResolvedInput transfer, ResolvedInput validation, ResolvedInput test, ModelArtifact teacher) {
    }

    /** The output rule, every input resolved once (transfer sets checked, the teacher read) and the omitted class. */
    static Inputs check(Storage storage, OmittedClassConfig c) {
        OutputRule.of(storage).input("--transfer", c.transfer()).input("--validation", c.validation())
                .input("--test", c.test()).input("--teacher", c.teacher()).check("--out", c.out());
        Inputs in = new Inputs(TransferTables.resolveTransfer(storage, c.transfer()),
                TransferTables.resolveTransfer(storage, c.validation()),
                TransferTables.resolveTransfer(storage, c.test()), ModelArtifact.read(storage, c.teacher()));
        int classes = (int) in.transfer().manifest().number(TransferSchema.CLASSES);
        if (c.omittedClass() >= classes) {
            throw new IllegalArgumentException("omitted class " + c.omittedClass() + " is not one of the transfer set's "
                    + classes + " classes");
        }
        return in;
    }

    public Result run(OmittedClassConfig c) {
        Storage storage = Storage.of(spark);
        Inputs in = check(storage, c);
        String o = c.out();
        Stages stages = new Stages(storage);
        String transfer = o + "/transfer-without-" + c.omittedClass();
        String validation = o + "/validation-without-" + c.omittedClass();
        stages.run("omit from transfer", transfer, Map.of("from", c.transfer(), "omit", c.omittedClass()),
                () -> omit(storage, in.transfer(), transfer, c));
        stages.run("omit from validation", validation, Map.of("from", c.validation(), "omit", c.omittedClass()),
                () -> omit(storage, in.validation(), validation, c));
        LabelConfig label = LabelConfig.builder(transfer, o + "/soft-targets").teacher(c.teacher())
                .temperature(c.temperature()).batchSize(LabelConfig.DEFAULT_BATCH).build();
        stages.run("label", label.out(), label, () -> new LabelJob(spark).run(label));
        // soft targets only: no hard label is kept (--labelled 0, alpha 1)
        TrainConfig kd = studentOf(c, Objective.KD, o + "/students/kd").softTargets(label.out())
                .validation(validation).alphas(List.of(1.0)).labelled(0).build();
        stages.run("kd student", kd.out(), kd, () -> new TrainJob(spark).run(kd));
        TrainConfig hard = studentOf(c, Objective.HARD, o + "/students/hard").transfer(transfer)
                .validation(validation).build();
        stages.run("hard-label student", hard.out(), hard, () -> new TrainJob(spark).run(hard));

        Map<String, String> models = new LinkedHashMap<>();
        models.put("kd_soft_only", kd.out());
        models.put("hard_labels", hard.out());
        EvaluateJob.Result eval = new EvaluateJob(spark).run(new EvaluateConfig(c.test(), c.teacher(), models,
                o + "/evaluation", 20, c.validation()), PublishMode.OVERWRITE);
        Map<String, Map<String, Object>> rows = new LinkedHashMap<>();
        eval.models().forEach((name, m) -> rows.put(name, row(m, c.omittedClass())));
        hintonCorrection(storage, c, in, models, rows);
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("omitted_class", c.omittedClass());
        doc.put("temperature", c.temperature());
        doc.put("evaluation", eval.job().path());
        doc.put("models", rows);
        String path = o + "/" + RESULT;
        storage.writeText(path, Manifest.json(doc));
        return new Result(rows, table(rows, c.omittedClass()), storage.qualify(path));
    }

    /** Publishes {@code from} without the rows whose label is the omitted class. */
    private Object omit(Storage storage, ResolvedInput from, String to, OmittedClassConfig c) {
        long start = System.nanoTime();
        TransferTables.Transfer in = TransferTables.readTransfer(spark, from);
        try (StagedOutput out = StagedOutput.begin(storage, to)) {
            TransferTables.write(in.rows().filter(functions.col(TransferSchema.LABEL).isNull()
                    .or(functions.col(TransferSchema.LABEL).notEqual(c.omittedClass()))), out.stagingDir());
            long rows = TransferTables.countRows(spark, out.stagingDir());
            Map<String, Object> facts = new LinkedHashMap<>(in.manifest().facts());
            facts.put("rows", rows);
            facts.put("omittedClass", c.omittedClass());
            return out.publish(Manifest.sealed("omit-class", Map.of("from", from.given(), "omit", c.omittedClass()),
                    Map.of("transfer", new Manifest.Input(in.path(), in.manifest().id())), facts, Versions.current(),
                    java.time.Instant.now().toString()), rows, start);
        }
    }

    /**
     * Hinton et al.'s correction, beside the fit of every class's bias: only the omitted class's bias raised, by the
     * amount that maximises accuracy on the validation split (which holds the omitted class; never the test split),
     * then applied to the test split.
     */
    private void hintonCorrection(Storage storage, OmittedClassConfig c, Inputs in, Map<String, String> models,
                                  Map<String, Map<String, Object>> rows) {
        LabelledSet validation = LabelledSet.collect(TransferTables.readTransfer(spark, in.validation()));
        LabelledSet test = LabelledSet.collect(TransferTables.readTransfer(spark, in.test()));
        Map<String, ModelArtifact> all = new LinkedHashMap<>();
        all.put("teacher", in.teacher());
        models.forEach((name, path) -> all.put(name, ModelArtifact.read(storage, path))); // trained by this run
        all.forEach((name, artifact) -> {
            LogitModel model = new LogitModel(artifact.network());
            double b = Calibration.fitClassBias(Scoring.logits(model, validation.features()), validation.labels(),
                    c.omittedClass());
            float[][] z = Scoring.logits(model, test.features());
            for (float[] row : z) {
                row[c.omittedClass()] += (float) b;
            }
            Map<String, Object> r = rows.get(name);
            r.put("hinton_bias", b);
            r.put("accuracy_after_hinton_bias", Scoring.accuracy(z, test.labels()));
            int seen = 0;
            int right = 0;
            for (int i = 0; i < z.length; i++) {
                if (test.labels()[i] == c.omittedClass()) {
                    seen++;
                    right += org.distillery.model.loss.SoftTargets.argmax(z[i]) == c.omittedClass() ? 1 : 0;
                }
            }
            r.put("omitted_class_accuracy_after_hinton_bias", seen == 0 ? Double.NaN : (double) right / seen);
        });
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> row(Map<String, Object> m, int omitted) {
        Map<String, Object> calibration = (Map<String, Object>) m.get("calibration");
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("accuracy", m.get("accuracy"));
        r.put("omitted_class_accuracy", ((double[]) m.get("per_class_accuracy"))[omitted]);
        r.put("accuracy_after_bias", calibration.get("accuracy_after_bias"));
        r.put("omitted_class_accuracy_after_bias",
                ((double[]) calibration.get("per_class_accuracy_after_bias"))[omitted]);
        r.put("omitted_class_bias", ((double[]) calibration.get("bias"))[omitted]);
        return r;
    }

    private static String table(Map<String, Map<String, Object>> rows, int omitted) {
        StringBuilder sb = new StringBuilder(String.format("%-14s %9s %9s %10s %11s %8s %11s %11s %8s%n", "model",
                "accuracy", "class " + omitted, "acc(bias)", "class(bias)", "bias", "acc(hinton)", "class(hint)",
                "b_" + omitted));
        rows.forEach((name, r) -> sb.append(String.format("%-14s %9.4f %9.4f %10.4f %11.4f %8.2f %11.4f %11.4f %8.2f%n",
                name, (double) r.get("accuracy"), (double) r.get("omitted_class_accuracy"),
                (double) r.get("accuracy_after_bias"), (double) r.get("omitted_class_accuracy_after_bias"),
                (double) r.get("omitted_class_bias"), (double) r.get("accuracy_after_hinton_bias"),
                (double) r.get("omitted_class_accuracy_after_hinton_bias"), (double) r.get("hinton_bias"))));
        return sb.toString();
    }

    /** What both students share: shape, schedule (no early stop), seed, workers and where they go. */
    private static TrainConfigBuilder studentOf(OmittedClassConfig c, Objective objective, String out) {
        return TrainConfig.builder(objective).out(out).architecture(c.architecture()).epochs(c.epochs())
                .patience(c.epochs()).seed(c.seed()).workers(c.workers());
    }
}
