package org.distillery.jobs.experiments;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.Stages;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.evaluate.EvaluateConfig;
import org.distillery.jobs.evaluate.EvaluateJob;
import org.distillery.jobs.label.LabelConfig;
import org.distillery.jobs.label.LabelJob;
import org.distillery.jobs.train.Objective;
import org.distillery.jobs.train.TrainConfig;
import org.distillery.jobs.train.TrainJob;
import org.distillery.model.schema.Manifest;

/**
 * Self-distillation over generations (born-again networks, Furlanello et al. 2018): the teacher labels the transfer
 * set, a student of the teacher's own architecture (or the one given) learns from it, then that student labels the
 * transfer set for the next generation, and so on. Every generation is scored on the test split next to the teacher;
 * writes {@code OUT/born-again.json}. Rerunning reuses the generations already published.
 */
public final class BornAgainJob {
    public static final String RESULT = "born-again.json";
    private final SparkSession spark;

    public BornAgainJob(SparkSession spark) {
        this.spark = spark;
    }

    /** The evaluation (teacher and every generation) and where the summary was written. */
    public record Result(EvaluateJob.Result evaluation, String path, String architecture) {
    }

    /**
     * The output rule and the inputs resolved once at the start (transfer sets checked, the teacher read), so that a
     * bad input stops the run before the first generation; returns the students' architecture.
     */
    static String check(Storage storage, BornAgainConfig c) {
        OutputRule.of(storage).input("--transfer", c.transfer()).input("--validation", c.validation())
                .input("--test", c.test()).input("--teacher", c.teacher()).check("--out", c.out());
        for (String split : new String[] {c.transfer(), c.validation(), c.test()}) {
            TransferTables.resolveTransfer(storage, split);
        }
        ModelArtifact teacher = ModelArtifact.read(storage, c.teacher());
        return c.architecture() != null ? c.architecture() : teacherArchitecture(teacher);
    }

    public Result run(BornAgainConfig c) {
        Storage storage = Storage.of(spark);
        String arch = check(storage, c);
        Stages stages = new Stages(storage);
        String teacher = c.teacher();
        Map<String, String> models = new LinkedHashMap<>();
        for (int g = 1; g <= c.generations(); g++) {
            String dir = c.out() + "/generation-" + g;
            LabelConfig label = LabelConfig.builder(c.transfer(), dir + "/soft-targets").teacher(teacher)
                    .temperature(c.temperature()).batchSize(LabelConfig.DEFAULT_BATCH).build();
            stages.run("generation " + g + " label", label.out(), label, () -> new LabelJob(spark).run(label));
            TrainConfig student = TrainConfig.builder(Objective.KD).softTargets(label.out()).validation(c.validation())
                    .out(dir + "/student").architecture(arch).epochs(c.epochs()).patience(c.epochs())
                    .learningRate(c.learningRate()).alphas(List.of(c.alpha())).labelled(c.labelled()).seed(c.seed())
                    .workers(c.workers()).build();
            stages.run("generation " + g + " student", student.out(), student, () -> new TrainJob(spark).run(student));
            models.put("generation_" + g, student.out());
            teacher = student.out();
        }
        // every generation against the original teacher, although each was distilled from the one before
        EvaluateJob.Result eval = new EvaluateJob(spark).run(new EvaluateConfig(c.test(), c.teacher(), models,
                c.out() + "/evaluation", 20, c.validation(), true), PublishMode.OVERWRITE);
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("architecture", arch);
        doc.put("temperature", c.temperature());
        doc.put("alpha", c.alpha());
        Map<String, Object> accuracy = new LinkedHashMap<>();
        eval.models().forEach((name, m) -> accuracy.put(name, m.get("accuracy")));
        doc.put("test_accuracy", accuracy);
        doc.put("evaluation", eval.job().path());
        String path = c.out() + "/" + RESULT;
        storage.writeText(path, Manifest.json(doc));
        return new Result(eval, storage.qualify(path), arch);
    }

    private static String teacherArchitecture(ModelArtifact t) {
        if (t.manifest() == null || !t.manifest().facts().containsKey("architecture")) {
            throw new IllegalArgumentException("teacher " + t.path() + " has no manifest naming its architecture (a"
                    + " bare zip?): pass --arch");
        }
        return t.manifest().text("architecture");
    }
}
