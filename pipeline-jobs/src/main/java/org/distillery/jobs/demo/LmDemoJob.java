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
import org.distillery.jobs.generate.GenerateConfig;
import org.distillery.jobs.generate.GenerateJob;
import org.distillery.jobs.ingest.IngestConfig;
import org.distillery.jobs.ingest.IngestJob;
import org.distillery.jobs.ingest.TextConfig;
import org.distillery.jobs.label.LabelConfig;
import org.distillery.jobs.label.LabelJob;
import org.distillery.jobs.train.Objective;
import org.distillery.jobs.train.Task;
import org.distillery.jobs.train.TrainConfig;
import org.distillery.jobs.train.TrainConfigBuilder;
import org.distillery.jobs.train.TrainJob;
import org.distillery.jobs.train.averaging.EngineConfig;
import org.distillery.model.schema.Manifest;

/**
 * {@code demo --task lm}: the language-model chain in one Spark application, as {@link DemoJob} runs the image one:
 * ingest the corpus as text windows -> teacher LM on the whole training split -> token soft targets over that split
 * -> students of one shape: the baseline (next-token cross-entropy) and a KD student on the same slice of real text,
 * a KD student on the whole split, and a student trained with cross-entropy on text the teacher generated from
 * prompts of the split (black-box: no logits) -> evaluate every model on the test split, the teacher pinned. The slice is the
 * first {@code sliceWindows} windows of the seeded order, so the slice's KD student reads the soft targets of exactly
 * the baseline's windows from the one label output. Each stage publishes under {@code out} and a rerun reuses those
 * already published with the same config.
 */
public final class LmDemoJob {
    /** The report's model names, in report order after the teacher, each with its directory under the run. */
    static final List<String> STUDENTS = List.of("baseline", "kd_slice", "kd_corpus", "kd_generated");
    /** Tokens fed one by one when timing each model's latency. */
    private static final int LATENCY_TOKENS = 200;
    /** Epochs without a validation gain before a student stops. */
    private static final int PATIENCE = 4;
    private final SparkSession spark;

    public LmDemoJob(SparkSession spark) {
        this.spark = spark;
    }

    /** Which stages are already published (reused when their config matches) and which are new; no Spark. */
    public static DryRun dryRun(Storage storage, LmDemoConfig c) {
        OutputRule.of(storage).check("--out", c.out());
        IngestJob.dryRun(storage, ingest(c));
        DryRun plan = new DryRun("demo").with("task", "lm").with("source", c.source());
        for (String stage : List.of("data/test", "models/teacher", "soft-targets/train", "students/baseline",
                "students/kd_slice", "students/kd_corpus", "generated/train", "students/kd_generated",
                "evaluation")) {
            String dir = c.out() + "/" + stage;
            plan.with(stage, storage.qualify(dir) + (storage.exists(dir)
                    ? " (published: reused if its config matches, else the run stops)" : " (new)"));
        }
        return plan;
    }

    public DemoJob.Result run(LmDemoConfig c) {
        String o = c.out();
        Storage storage = Storage.of(spark);
        OutputRule.of(storage).check("--out", o);
        Stages stages = new Stages(storage);
        IngestConfig ingest = ingest(c);
        stages.run("ingest", o + "/data/test", ingest, () -> new IngestJob(spark).run(ingest));
        String train = o + "/data/train";
        String validation = o + "/data/validation";

        TrainConfig teacher = lm(c, c.teacher(), Objective.HARD, o + "/models/teacher").transfer(train)
                .validation(validation).epochs(c.teacher().epochs()).patience(c.teacher().epochs())
                .build();
        stages.run("teacher", teacher.out(), teacher, () -> new TrainJob(spark).run(teacher));

        LabelConfig label = LabelConfig.builder(train, o + "/soft-targets/train").teacher(teacher.out())
                .temperature(c.temperature()).topK(c.topK()).batchSize(LabelConfig.DEFAULT_TEXT_BATCH).build();
        stages.run("label", label.out(), label, () -> new LabelJob(spark).run(label));

        TrainConfig baseline = student(c, Objective.HARD, "baseline").transfer(train).windows(c.sliceWindows())
                .epochs(c.student().sliceEpochs()).build();
        stages.run("baseline", baseline.out(), baseline, () -> new TrainJob(spark).run(baseline));
        TrainConfig kdSlice = kd(c, "kd_slice", label.out()).windows(c.sliceWindows())
                .epochs(c.student().sliceEpochs()).build();
        stages.run("kd_slice", kdSlice.out(), kdSlice, () -> new TrainJob(spark).run(kdSlice));
        TrainConfig kdCorpus = kd(c, "kd_corpus", label.out()).epochs(c.student().epochs())
                .build();
        stages.run("kd_corpus", kdCorpus.out(), kdCorpus, () -> new TrainJob(spark).run(kdCorpus));

        // black-box: the teacher's sampled text only, no logits; the student trains on it with cross-entropy
        GenerateConfig generate = GenerateConfig.builder(train, teacher.out(), o + "/generated/train")
                .limit(c.generatedPrompts()).tokens(c.generatedTokens()).seed(c.seed()).build();
        stages.run("generate", generate.out(), generate, () -> new GenerateJob(spark).run(generate));
        TrainConfig kdGenerated = student(c, Objective.HARD, "kd_generated").transfer(generate.out())
                .epochs(c.student().sliceEpochs()).build();
        stages.run("kd_generated", kdGenerated.out(), kdGenerated, () -> new TrainJob(spark).run(kdGenerated));

        Map<String, String> models = new LinkedHashMap<>();
        for (String name : STUDENTS) {
            models.put(name, o + "/students/" + name);
        }
        EvaluateConfig eval = new EvaluateConfig(o + "/data/test", teacher.out(), models, o + "/evaluation",
                LATENCY_TOKENS, null);
        long t0 = System.nanoTime();
        // cheap to redo, and it must reflect the models above; the old report stays until the new one is complete
        EvaluateJob.Result result = new EvaluateJob(spark).run(eval, PublishMode.OVERWRITE);
        stages.record("evaluate", (System.nanoTime() - t0) / 1e9);
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("task", "lm");
        facts.put("slice_windows", c.sliceWindows());
        return DemoJob.writeReport(storage, o, result, stages.seconds(), facts);
    }

    static IngestConfig ingest(LmDemoConfig c) {
        return IngestConfig.builder().source(c.source(), IngestConfig.Format.TEXT)
                .text(new TextConfig(c.documents(), c.window(), c.burnIn(), TextConfig.DEFAULT_MIN_CHAR_COUNT))
                .out(c.out() + "/data").seed(c.seed()).build();
    }

    /** An LM of {@code model}'s shape and schedule, trained with the run's seed and trainer settings. */
    private static TrainConfigBuilder lm(LmDemoConfig c, LmDemoConfig.Model model, Objective objective, String out) {
        var a = model.lstm();
        return TrainConfig.builder(objective).task(Task.LM).lm(a.embedding(), a.hidden().get(0), a.hidden().size())
                .out(out).learningRate(model.learningRate()).batchSize(model.batch()).seed(c.seed())
                .workers(c.workers()).averagingFrequency(c.averagingFrequency())
                .engine(EngineConfig.DEFAULT.storageLevel(EngineConfig.DEFAULT_LM_STORAGE_LEVEL));
    }

    /** A student: the one shape every row shares, its epoch picked on the validation split. */
    private static TrainConfigBuilder student(LmDemoConfig c, Objective objective, String name) {
        return lm(c, c.student(), objective, c.out() + "/students/" + name).validation(c.out() + "/data/validation")
                .patience(PATIENCE);
    }

    private static TrainConfigBuilder kd(LmDemoConfig c, String name, String softTargets) {
        return student(c, Objective.KD, name).softTargets(softTargets).temperatures(List.of(c.temperature()))
                .alphas(List.of(c.alpha()));
    }
}
