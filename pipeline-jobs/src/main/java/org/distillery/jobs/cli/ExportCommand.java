package org.distillery.jobs.cli;

import java.util.concurrent.Callable;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.export.ExportConfig;
import org.distillery.jobs.export.ExportJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Export a published student as ONNX (model.onnx; with --quantize int8 also model-int8.onnx),"
                + " verified against DL4J with ONNX Runtime, with a model card (card.json, card.md).")
final class ExportCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Published model directory, or a DL4J zip or Keras HDF5 file.")
    String model;
    @Option(names = "--format", defaultValue = ExportConfig.ONNX, description = "Export format: onnx (default).")
    String format;
    @Option(names = "--quantize", defaultValue = ExportConfig.NONE,
            description = "none (default) or int8: post-training static quantization (QDQ), calibrated on --calibration.")
    String quantize;
    @Option(names = "--calibration", paramLabel = "TRANSFER_DIR",
            description = "Published transfer set: its rows calibrate int8 activations and verify the exports"
                    + " against DL4J (required with --quantize int8).")
    String calibration;
    @Option(names = "--calibration-rows", paramLabel = "N", defaultValue = "" + ExportConfig.DEFAULT_CALIBRATION_ROWS,
            description = "Calibration rows, a seeded sample of the transfer set (default: ${DEFAULT-VALUE}).")
    int calibrationRows;
    @Option(names = "--calibration-percentile", paramLabel = "P", defaultValue = "100",
            description = "Activation ranges from the (100-P)th to the Pth percentile; 100 = min/max (default: ${DEFAULT-VALUE}).")
    double percentile;
    @Option(names = "--evaluation", paramLabel = "DIR",
            description = "Published evaluate output: its entries for this model give the model card test metrics.")
    String evaluation;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (must not exist).")
    String out;
    @Option(names = "--latency-runs", defaultValue = "" + ExportConfig.DEFAULT_LATENCY_RUNS,
            description = "Timed single-row ONNX Runtime calls per exported file (default: ${DEFAULT-VALUE}).")
    int latencyRuns;
    @Mixin
    OutputMode mode;
    @Mixin
    SparkOptions spark;
    @Mixin
    RunOptions run;

    @Override
    public Integer call() {
        ExportConfig config = new ExportConfig(model, format, quantize, calibration, calibrationRows, percentile,
                evaluation, out, latencyRuns, mode.parsed());
        return run.dryRunOrRun(() -> ExportJob.dryRun(Storage.standalone(), config),
                () -> new ExportJob(spark.session("export")).run(config).summaryJson());
    }
}
