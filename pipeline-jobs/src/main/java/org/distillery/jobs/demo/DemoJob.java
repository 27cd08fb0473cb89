package org.distillery.jobs.demo;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.Stages;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.evaluate.EvaluateConfig;
import org.distillery.jobs.evaluate.EvaluateJob;
import org.distillery.jobs.export.ExportConfig;
import org.distillery.jobs.export.ExportJob;
import org.distillery.jobs.ingest.IngestConfig;
import org.distillery.jobs.ingest.IngestJob;
import org.distillery.jobs.label.LabelConfig;
import org.distillery.jobs.label.LabelJob;
import org.distillery.jobs.train.Objective;
import org.distillery.jobs.train.TrainConfig;
import org.distillery.jobs.train.TrainConfigBuilder;
import org.distillery.jobs.train.TrainJob;
import org.distillery.jobs.train.averaging.EngineConfig;
import org.distillery.model.schema.Manifest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole chain in one Spark application: ingest -> teacher -> label -> baseline, pseudo-label and KD students ->
 * export of the KD student to ONNX (fp32 and int8) -> evaluate (the ONNX files beside the DL4J models). Each step publishes its own output under {@code out}; a rerun reuses every step already published with the
 * same config (and refuses one published with a different config), so a retry resumes instead of starting over.
 */
public final class DemoJob {
    private static final Logger LOG = LoggerFactory.getLogger(DemoJob.class);
    static final int STUDENT_PATIENCE = 8;
    static final int BASELINE_PATIENCE = 20;
    private final SparkSession spark;

    public DemoJob(SparkSession spark) {
        this.spark = spark;
    }

    /** The evaluation result and each stage's wall seconds (0 for a reused stage). */
    public record Result(EvaluateJob.Result evaluation, Map<String, Double> stageSeconds, String reportPath) {
    }

    /**
     * Checks the source files and the run directory without Spark: which stages are already published (a run reuses
     * them when their config matches) and which are new.
     */
    public static DryRun dryRun(Storage storage, DemoConfig c) {
        OutputRule.of(storage).input("--source", c.source()).check("--out", c.out());
        IngestJob.dryRun(storage, IngestConfig.idx(c.source(), c.out() + "/data", c.validation(), c.seed()));
        DryRun plan = new DryRun("demo").with("source", c.source() + " (IDX files read and checked)");
        for (String stage : List.of("data/test", "models/teacher", "soft-targets/train", "students/baseline",
                "students/pseudo_label", "students/kd", "export/student", "evaluation")) {
            String dir = c.out() + "/" + stage;
            plan.with(stage, storage.qualify(dir) + (storage.exists(dir)
                    ? " (published: reused if its config matches, else the run stops)" : " (new)"));
        }
        return plan;
    }

    public Result run(DemoConfig c) {
        String o = c.out();
        OutputRule.of(Storage.of(spark)).input("--source", c.source()).check("--out", o);
        Stages stages = new Stages(Storage.of(spark));
        IngestConfig ingest = IngestConfig.idx(c.source(), o + "/data", c.validation(), c.seed());
        stages.run("ingest", o + "/data/test", ingest, () -> new IngestJob(spark).run(ingest));
        String train = o + "/data/train";
        String validation = o + "/data/validation";

        TrainConfig teacher = TrainConfig.builder(Objective.HARD).transfer(train).validation(validation)
                .out(o + "/models/teacher").student(c.teacherArch(), c.teacherDropout()).epochs(c.teacherEpochs())
                .patience(c.teacherEpochs()).seed(c.seed()).workers(c.workers()).batchSize(c.teacherBatch())
                .averagingFrequency(c.averagingFrequency()).engine(ENGINE).build();
        stages.run("teacher", teacher.out(), teacher, () -> new TrainJob(spark).run(teacher));

        LabelConfig label = LabelConfig.builder(train, o + "/soft-targets/train").teacher(teacher.out())
                .temperature(c.labelTemperature()).batchSize(LabelConfig.DEFAULT_BATCH).build();
        stages.run("label", label.out(), label, () -> new LabelJob(spark).run(label));

        TrainConfig baseline = studentOf(c, Objective.HARD, "baseline").transfer(train).validation(validation)
                .epochs(c.baselineEpochs()).patience(BASELINE_PATIENCE).build();
        stages.run("baseline", baseline.out(), baseline, () -> new TrainJob(spark).run(baseline));
        TrainConfig pseudo = studentOf(c, Objective.PSEUDO_LABEL, "pseudo_label").softTargets(label.out())
                .validation(validation).retemper(true).build();
        stages.run("pseudo_label", pseudo.out(), pseudo, () -> new TrainJob(spark).run(pseudo));
        TrainConfig kd = studentOf(c, Objective.KD, "kd").softTargets(label.out()).validation(validation)
                .temperatures(c.temperatures()).alphas(c.alphas()).retemper(true).build();
        stages.run("student", kd.out(), kd, () -> new TrainJob(spark).run(kd));
        ExportConfig export = exportConfig(c, kd.out(), train);
        stages.run("export", export.out(), export, () -> new ExportJob(spark).run(export));

        Map<String, String> models = new LinkedHashMap<>();
        models.put("baseline", baseline.out());
        models.put("pseudo_label", pseudo.out());
        models.put("student", kd.out());
        models.put("student_onnx", export.out()); // model.onnx: the same student in ONNX Runtime, fp32
        models.put("student_int8", export.out() + "/" + ExportJob.INT8_FILE);
        EvaluateConfig eval = new EvaluateConfig(o + "/data/test", teacher.out(), models, o + "/evaluation", 200,
                validation);
        Storage storage = Storage.of(spark);
        long t0 = System.nanoTime();
        // cheap to redo, and it must reflect the models above; the old report stays until the new one is complete
        EvaluateJob.Result result = new EvaluateJob(spark).run(eval, PublishMode.OVERWRITE);
        stages.record("evaluate", (System.nanoTime() - t0) / 1e9);
        return writeReport(storage, o, result, stages.seconds(), Map.of());
    }

    /**
     * Writes {@code out/report.json}: the evaluation's models, each stage's seconds, the evaluation's path and
     * {@code facts} of the demo; replaced only once the new one is complete.
     */
    static Result writeReport(Storage storage, String out, EvaluateJob.Result result, Map<String, Double> seconds,
                              Map<String, Object> facts) {
        Map<String, Object> report = new LinkedHashMap<>(facts);
        report.put("models", result.models());
        report.put("stage_seconds", seconds);
        report.put("evaluation", result.job().path());
        String reportPath = out + "/" + EvaluateJob.REPORT;
        String tmp = out + "/." + EvaluateJob.REPORT + ".tmp";
        storage.writeText(tmp, Manifest.json(report));
        if (storage.exists(reportPath)) {
            storage.delete(reportPath);
        }
        storage.rename(tmp, reportPath);
        return new Result(result, seconds, storage.qualify(reportPath));
    }

    /**
     * The KD student as ONNX, fp32 and int8 calibrated on the transfer set it was trained on (the evaluation that
     * follows scores both files beside it, so the card carries no test metrics of its own).
     */
    static ExportConfig exportConfig(DemoConfig c, String student, String transfer) {
        return new ExportConfig(student, c.out() + "/export/student").withInt8(transfer);
    }

    /**
     * The trainer's engine for the demo's models: the defaults, with the minibatches cached as objects. Fashion-MNIST's
     * 55,000 rows are ~180 MB of minibatches, which fit anywhere the demo runs; as objects they skip Java
     * serialization into the cache and out of it every epoch, which makes each trial's first epoch ~2x and every
     * later one ~1.2x faster (docs/PERFORMANCE.md, "The demo's wall time"). The serialized default stays for tables of
     * unknown size: its bytes are on the heap, where Spark's memory accounting sees them, while objects hold ND4J's
     * off-heap arrays, which it does not.
     */
    static final EngineConfig ENGINE = EngineConfig.DEFAULT.storageLevel("MEMORY_ONLY");

    /** What the demo's students share: shape, schedule, labelled rows, trainer settings and where they go. */
    private static TrainConfigBuilder studentOf(DemoConfig c, Objective objective, String name) {
        return TrainConfig.builder(objective).out(c.out() + "/students/" + name).architecture(c.studentArch())
                .epochs(c.studentEpochs()).patience(STUDENT_PATIENCE).labelled(c.labelled()).seed(c.seed())
                .workers(c.workers()).batchSize(c.studentBatch()).averagingFrequency(c.averagingFrequency())
                .engine(ENGINE);
    }
}
