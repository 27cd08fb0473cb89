package org.distillery.jobs.cli;

import java.util.concurrent.Callable;
import org.distillery.jobs.calibrate.CalibrateConfig;
import org.distillery.jobs.calibrate.CalibrateJob;
import org.distillery.jobs.common.Storage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "calibrate", mixinStandardHelpOptions = true,
        description = "Fit temperature scaling (and optionally per-class biases) of a published model on a validation"
                + " split and publish the model with them folded into its output layer: the calibration evaluate"
                + " reports, as a model that export and any DL4J service take as it is.")
final class CalibrateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Published model directory, or a DL4J zip or Keras file.")
    String model;
    @Option(names = "--validation", required = true, paramLabel = "DIR",
            description = "Published split with labels to fit on (never the test split).")
    String validation;
    @Option(names = "--method", defaultValue = CalibrateConfig.DEFAULT_METHOD,
            description = "temperature (default: keeps every prediction, fixes confidence), bias (per-class biases:"
                    + " may change predictions) or temperature+bias.")
    String method;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory of the model.")
    String out;
    @Mixin
    OutputMode mode;
    @Mixin
    SparkOptions spark;
    @Mixin
    RunOptions run;

    @Override
    public Integer call() {
        CalibrateConfig config = new CalibrateConfig(model, validation, CalibrateConfig.Method.parse(method), out,
                mode.parsed());
        return run.dryRunOrRun(() -> CalibrateJob.dryRun(Storage.standalone(), config),
                () -> new CalibrateJob(spark.session("calibrate")).run(config).summaryJson());
    }
}
