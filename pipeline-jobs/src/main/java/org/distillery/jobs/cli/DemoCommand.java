package org.distillery.jobs.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.demo.DemoConfig;
import org.distillery.jobs.demo.DemoJob;
import org.distillery.jobs.demo.LmDemoConfig;
import org.distillery.jobs.demo.LmDemoJob;
import org.distillery.jobs.ingest.IngestConfig;
import org.distillery.jobs.ingest.TextConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the whole chain on Fashion-MNIST (or, with --task lm, on a text corpus with language models)"
                + " in Spark local mode and write OUT/report.json. Rerunning with the same options reuses the steps"
                + " already published.")
final class DemoCommand implements Callable<Integer> {
    private static final String IMAGE_OUT = "runs/demo";

    @Spec
    CommandSpec spec;
    @Option(names = "--task", defaultValue = "image", paramLabel = "image|lm",
            description = "image: Fashion-MNIST, scarce labels; lm: character-level LSTM LMs on a text corpus, a"
                    + " small slice of text against soft targets (default: ${DEFAULT-VALUE}).")
    String task;
    @Option(names = "--out", paramLabel = "DIR",
            description = "Run directory (default: " + IMAGE_OUT + "; " + LmDemoConfig.DEFAULT_OUT + " with --task lm).")
    String out;
    @Option(names = "--source", paramLabel = "DIR",
            description = "Fashion-MNIST IDX directory (default: " + IngestConfig.DEFAULT_SOURCE + "); with --task lm,"
                    + " text files or globs, comma-separated (default: Debian's fortunes and jargon-text).")
    String source;

    // the image demo's options
    @Option(names = "--validation", defaultValue = "5000", description = "Validation rows held out of train (default: ${DEFAULT-VALUE}).")
    int validation;
    @Option(names = "--labelled", defaultValue = "1000", description = "Transfer rows that keep their hard label (default: ${DEFAULT-VALUE}).")
    int labelled;
    @Option(names = "--teacher-arch", defaultValue = "cnn:20,50:500",
            description = "Teacher shape, e.g. cnn:20,50:500 or Hinton's mlp:1200,1200 (default: ${DEFAULT-VALUE}).")
    String teacherArch;
    @Option(names = "--teacher-dropout", defaultValue = "0.5", description = "Teacher dropout (default: ${DEFAULT-VALUE}).")
    double teacherDropout;
    @Option(names = "--teacher-epochs", defaultValue = "6", description = "Teacher epochs (default: ${DEFAULT-VALUE}).")
    int teacherEpochs;
    @Option(names = "--teacher-batch", defaultValue = "64", description = "Teacher minibatch per worker (default: ${DEFAULT-VALUE}).")
    int teacherBatch;
    @Option(names = "--student-arch", defaultValue = "mlp:64", description = "Student shape (default: ${DEFAULT-VALUE}).")
    String studentArch;
    @Option(names = "--student-epochs", defaultValue = "30",
            description = "Maximum epochs of the pseudo-label and KD students (default: ${DEFAULT-VALUE}).")
    int studentEpochs;
    @Option(names = "--baseline-epochs", defaultValue = "200",
            description = "Maximum epochs of the baseline, which sees only the labelled rows (default: ${DEFAULT-VALUE}).")
    int baselineEpochs;
    @Option(names = "--student-batch", defaultValue = "64", description = "Student minibatch per worker (default: ${DEFAULT-VALUE}).")
    int studentBatch;
    @Option(names = "--label-temperature", defaultValue = "1", description = "T of the stored soft column (default: ${DEFAULT-VALUE}).")
    double labelTemperature;
    @Option(names = {"-T", "--temperature"}, split = ",", defaultValue = "1,2,4",
            description = "KD temperatures tried, picked on validation (default: ${DEFAULT-VALUE}).")
    List<Double> temperatures;
    @Option(names = "--alpha", split = ",", defaultValue = "0.5,1",
            description = "KD soft-term weights tried, picked on validation (default: ${DEFAULT-VALUE}).")
    List<Double> alphas;

    // the LM demo's options
    @Option(names = "--documents", paramLabel = "[GLOB=]RULE",
            description = "--task lm: how files are cut into documents, as ingest's (default: the Debian corpus's"
                    + " rules for it, else one document per line).")
    List<String> documents;
    @Option(names = "--window", defaultValue = "" + LmDemoConfig.DEFAULT_WINDOW,
            description = "--task lm: tokens (characters) per window (default: ${DEFAULT-VALUE}).")
    int window;
    @Option(names = "--burn-in", defaultValue = "" + LmDemoConfig.DEFAULT_BURN_IN,
            description = "--task lm: masked context tokens per window after a document's first (default: ${DEFAULT-VALUE}).")
    int burnIn;
    @Option(names = "--teacher-lm", defaultValue = LmDemoConfig.DEFAULT_TEACHER, paramLabel = "lstm:E:H[,H...]",
            description = "--task lm: the teacher LM (default: ${DEFAULT-VALUE}).")
    String teacherLm;
    @Option(names = "--teacher-lm-epochs", defaultValue = "" + LmDemoConfig.DEFAULT_TEACHER_EPOCHS,
            description = "--task lm: teacher epochs over the training split (default: ${DEFAULT-VALUE}).")
    int teacherLmEpochs;
    @Option(names = "--student-lm", defaultValue = LmDemoConfig.DEFAULT_STUDENT, paramLabel = "lstm:E:H[,H...]",
            description = "--task lm: every student's shape (default: ${DEFAULT-VALUE}).")
    String studentLm;
    @Option(names = "--student-lm-epochs", defaultValue = "" + LmDemoConfig.DEFAULT_STUDENT_EPOCHS,
            description = "--task lm: maximum epochs of the KD student over the whole split (default: ${DEFAULT-VALUE}).")
    int studentLmEpochs;
    @Option(names = "--slice-epochs", defaultValue = "" + LmDemoConfig.DEFAULT_SLICE_EPOCHS,
            description = "--task lm: maximum epochs of the students on the slice (default: ${DEFAULT-VALUE}).")
    int sliceEpochs;
    @Option(names = "--teacher-lm-batch", defaultValue = "" + LmDemoConfig.DEFAULT_TEACHER_BATCH,
            description = "--task lm: the teacher's windows per minibatch per worker (default: ${DEFAULT-VALUE}).")
    int teacherLmBatch;
    @Option(names = "--student-lm-batch", defaultValue = "" + LmDemoConfig.DEFAULT_STUDENT_BATCH,
            description = "--task lm: the students' windows per minibatch per worker (default: ${DEFAULT-VALUE}).")
    int studentLmBatch;
    @Option(names = "--learning-rate", defaultValue = "" + LmDemoConfig.DEFAULT_LEARNING_RATE,
            description = "--task lm: Adam's learning rate of every LM (default: ${DEFAULT-VALUE}).")
    double learningRate;
    @Option(names = "--slice-windows", defaultValue = "" + LmDemoConfig.DEFAULT_SLICE_WINDOWS, paramLabel = "N",
            description = "--task lm: windows of real text the slice students see, the first of a seeded order"
                    + " (default: ${DEFAULT-VALUE}).")
    int sliceWindows;
    @Option(names = "--top-k", defaultValue = "" + LmDemoConfig.DEFAULT_TOP_K,
            description = "--task lm: teacher logits kept per position by the label job (default: ${DEFAULT-VALUE}).")
    int topK;
    @Option(names = "--kd-temperature", defaultValue = "" + LmDemoConfig.DEFAULT_TEMPERATURE,
            description = "--task lm: T of the KD students' soft term (default: ${DEFAULT-VALUE}).")
    double kdTemperature;
    @Option(names = "--kd-alpha", defaultValue = "" + LmDemoConfig.DEFAULT_ALPHA,
            description = "--task lm: weight of the KD students' soft term (default: ${DEFAULT-VALUE}).")
    double kdAlpha;
    @Option(names = "--generated-prompts", defaultValue = "" + LmDemoConfig.DEFAULT_GENERATED_PROMPTS, paramLabel = "N",
            description = "--task lm: prompts (windows of the training split) the teacher continues for the student"
                    + " trained on generated text (default: ${DEFAULT-VALUE}).")
    int generatedPrompts;
    @Option(names = "--generated-tokens", defaultValue = "" + LmDemoConfig.DEFAULT_GENERATED_TOKENS, paramLabel = "N",
            description = "--task lm: tokens the teacher samples per prompt at most (default: ${DEFAULT-VALUE}).")
    int generatedTokens;
    @Mixin
    EngineOptions engine;
    @Mixin
    SparkOptions spark;
    @Mixin
    RunOptions run;

    private static final List<String> IMAGE_ONLY = List.of("--validation", "--labelled", "--teacher-arch",
            "--teacher-dropout", "--teacher-epochs", "--teacher-batch", "--student-arch", "--student-epochs",
            "--baseline-epochs", "--student-batch", "--label-temperature", "--temperature", "--alpha");
    private static final List<String> LM_ONLY = List.of("--documents", "--window", "--burn-in", "--teacher-lm",
            "--teacher-lm-epochs", "--student-lm", "--student-lm-epochs", "--slice-epochs", "--teacher-lm-batch",
            "--student-lm-batch",
            "--learning-rate", "--slice-windows", "--top-k", "--kd-temperature", "--kd-alpha", "--generated-prompts",
            "--generated-tokens");

    @Override
    public Integer call() {
        if ("lm".equals(task)) {
            refuse(IMAGE_ONLY, "--task lm");
            return lm();
        }
        if (!"image".equals(task)) {
            throw new IllegalArgumentException("--task must be image or lm, got '" + task + "'");
        }
        refuse(LM_ONLY, "the image demo (--task image)");
        DemoConfig config = new DemoConfig(out == null ? IMAGE_OUT : out,
                source == null ? IngestConfig.DEFAULT_SOURCE : source, validation, labelled, engine.seed, teacherArch,
                teacherDropout, teacherEpochs, teacherBatch, studentArch, studentEpochs, baselineEpochs, studentBatch,
                labelTemperature, temperatures, alphas, engine.workers, engine.averagingFrequency);
        return run.dryRunOrRun(() -> DemoJob.dryRun(Storage.standalone(), config), () -> {
            DemoJob.Result r = new DemoJob(spark.session("demo")).run(config);
            return print(r);
        });
    }

    private Integer lm() {
        LmDemoConfig config = new LmDemoConfig(out == null ? LmDemoConfig.DEFAULT_OUT : out,
                source == null ? TextConfig.DEFAULT_SOURCE : source, documents, window, burnIn, engine.seed,
                new LmDemoConfig.Model(teacherLm, teacherLmEpochs, 1, teacherLmBatch, learningRate),
                new LmDemoConfig.Model(studentLm, studentLmEpochs, sliceEpochs, studentLmBatch, learningRate),
                sliceWindows, topK, kdTemperature, kdAlpha, generatedPrompts, generatedTokens, engine.workers,
                engine.averagingFrequency);
        return run.dryRunOrRun(() -> LmDemoJob.dryRun(Storage.standalone(), config),
                () -> print(new LmDemoJob(spark.session("demo")).run(config)));
    }

    private static String print(DemoJob.Result r) {
        System.out.print(r.evaluation().table());
        r.stageSeconds().forEach((k, v) -> System.out.printf("stage %-13s %8.1f s%n", k, v));
        return r.evaluation().job().summaryJson();
    }

    /** Options of the other demo, given on the command line, are refused in one line. */
    private void refuse(List<String> options, String demo) {
        List<String> given = new ArrayList<>();
        for (String name : options) {
            if (spec.commandLine().getParseResult().hasMatchedOption(name)) {
                given.add(name);
            }
        }
        if (!given.isEmpty()) {
            throw new IllegalArgumentException(String.join(", ", given) + " do" + (given.size() == 1 ? "es" : "")
                    + " not apply to " + demo);
        }
    }
}
