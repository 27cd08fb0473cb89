package org.distillery.jobs.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.evaluate.EvaluateConfig;
import org.distillery.jobs.evaluate.EvaluateJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = "Score the teacher and models on the test split; write report.json and print a table.")
final class EvaluateCommand implements Callable<Integer> {
    @Option(names = "--test", required = true, paramLabel = "DIR", description = "Published test split.")
    String test;
    @Option(names = "--teacher", paramLabel = "PATH",
            description = "Published teacher, DL4J zip, Keras file (.keras archive, or HDF5 of Keras 2 or 3) or ONNX"
                    + " model: the reference of agreement and KL. It must be the teacher the distilled"
                    + " models' soft targets were labelled by (default: that teacher, read from where it was"
                    + " labelled from; none for imported outputs).")
    String teacher;
    @Option(names = "--allow-other-teacher", arity = "0..1", fallbackValue = "true",
            description = "Measure agreement and KL against --teacher even when the models were distilled from"
                    + " another teacher.")
    boolean allowOtherTeacher;
    @Option(names = "--model", paramLabel = "NAME=DIR", split = ",",
            description = "A model to score (repeatable, or comma-separated), e.g. student=runs/x/students/kd.")
    Map<String, String> models = new LinkedHashMap<>();
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (must not exist).")
    String out;
    @Option(names = "--validation", paramLabel = "DIR",
            description = "Published validation split: fit temperature scaling and per-class bias correction on it and"
                    + " report ECE before and after on the test split.")
    String validation;
    @Option(names = "--latency-runs", defaultValue = "200",
            description = "Timed single-example calls per model; for language models, tokens per timed"
                    + " repetition of one-stream generation (default: ${DEFAULT-VALUE}).")
    int latencyRuns;
    @Option(names = "--samples", defaultValue = "" + EvaluateConfig.Lm.SAMPLES,
            description = "Language models: texts sampled per model from a fixed prompt of the test split (default:"
                    + " ${DEFAULT-VALUE}).")
    int samples;
    @Option(names = "--sample-tokens", defaultValue = "" + EvaluateConfig.Lm.SAMPLE_TOKENS,
            description = "Language models: tokens per sample (default: ${DEFAULT-VALUE}).")
    int sampleTokens;
    @Option(names = "--sample-temperature", defaultValue = "" + EvaluateConfig.Lm.SAMPLE_TEMPERATURE,
            description = "Language models: sampling temperature, 0 for greedy (default: ${DEFAULT-VALUE}).")
    double sampleTemperature;
    @Option(names = "--top-p", defaultValue = "" + EvaluateConfig.Lm.TOP_P,
            description = "Language models: nucleus of sampling, in (0, 1] (default: ${DEFAULT-VALUE}).")
    double topP;
    @Option(names = "--seed", defaultValue = "" + EvaluateConfig.Lm.SEED,
            description = "Language models: sample i is seeded with seed + i, for every model (default:"
                    + " ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--throughput-batch", defaultValue = "" + EvaluateConfig.Lm.THROUGHPUT_BATCH,
            description = "Language models: windows per forward pass when timing tokens per second (default:"
                    + " ${DEFAULT-VALUE}).")
    int throughputBatch;
    @Mixin
    OutputMode mode;
    @Mixin
    SparkOptions spark;
    @Mixin
    RunOptions run;

    @Override
    public Integer call() {
        EvaluateConfig config = new EvaluateConfig(test, teacher, models, out, latencyRuns, validation,
                allowOtherTeacher, new EvaluateConfig.Lm(samples, sampleTokens, sampleTemperature, topP, seed,
                throughputBatch));
        PublishMode publish = PublishMode.wholeOutput(mode.parsed(), "evaluate");
        return run.dryRunOrRun(() -> EvaluateJob.dryRun(Storage.standalone(), config, publish), () -> {
            EvaluateJob.Result r = new EvaluateJob(spark.session("evaluate")).run(config, publish);
            System.out.print(r.table());
            return r.job().summaryJson();
        });
    }
}
