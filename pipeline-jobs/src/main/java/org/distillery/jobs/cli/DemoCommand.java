package org.distillery.jobs.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.distillery.jobs.demo.DemoConfig;
import org.distillery.jobs.demo.DemoJob;
import org.distillery.jobs.ingest.IngestConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the whole chain on Fashion-MNIST in Spark local mode and write OUT/report.json."
                + " Rerunning with the same options reuses the steps already published.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "runs/demo", paramLabel = "DIR", description = "Run directory (default: ${DEFAULT-VALUE}).")
    String out;
    @Option(names = "--source", defaultValue = IngestConfig.DEFAULT_SOURCE, paramLabel = "DIR",
            description = "Fashion-MNIST IDX directory (default: ${DEFAULT-VALUE}).")
    String source;
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
    @Mixin
    EngineOptions engine;
    @Mixin
    SparkOptions spark;
    @Mixin
    RunOptions run;

    @Override
    public Integer call() {
        DemoConfig config = new DemoConfig(out, source, validation, labelled, engine.seed, teacherArch,
                teacherDropout, teacherEpochs, teacherBatch, studentArch, studentEpochs, baselineEpochs, studentBatch,
                labelTemperature, temperatures, alphas, engine.workers, engine.averagingFrequency);
        return run.dryRunOrRun(() -> DemoJob.dryRun(org.distillery.jobs.common.Storage.standalone(), config), () -> {
            DemoJob.Result r = new DemoJob(spark.session("demo")).run(config);
            System.out.print(r.evaluation().table());
            r.stageSeconds().forEach((k, v) -> System.out.printf("stage %-13s %8.1f s%n", k, v));
            return r.evaluation().job().summaryJson();
        });
    }
}
