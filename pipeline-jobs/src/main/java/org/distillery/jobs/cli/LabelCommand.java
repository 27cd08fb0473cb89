package org.distillery.jobs.cli;

import java.util.concurrent.Callable;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.label.LabelConfig;
import org.distillery.jobs.label.LabelJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "label", mixinStandardHelpOptions = true,
        description = "Run a frozen teacher over a transfer set; write raw logits and softmax(logits/T) as Parquet.")
final class LabelCommand implements Callable<Integer> {
    @Option(names = "--transfer", required = true, paramLabel = "DIR", description = "Published transfer set.")
    String transfer;
    @Option(names = "--teacher", required = true, paramLabel = "PATH",
            description = "Published teacher directory, or a DL4J model zip.")
    String teacher;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (must not exist, unless --mode overwrite).")
    String out;
    @Option(names = {"-T", "--temperature"}, defaultValue = "" + LabelConfig.DEFAULT_TEMPERATURE,
            description = "Temperature of the stored soft column (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--batch-size", defaultValue = "" + LabelConfig.DEFAULT_BATCH,
            description = "Rows per inference call (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--teacher-sha256", paramLabel = "HEX",
            description = "Refuse to run unless the teacher file has this SHA-256.")
    String teacherSha256;
    @Option(names = "--mode", defaultValue = "fail-if-exists",
            description = "When OUT is already published: fail-if-exists (default) or overwrite (the old output stays"
                    + " until the new one is complete).")
    String mode;
    @Mixin
    SparkOptions spark;
    @Mixin
    RunOptions run;

    @Override
    public Integer call() {
        LabelConfig config = new LabelConfig(transfer, teacher, out, temperature, batchSize, teacherSha256,
                PublishMode.parse(mode));
        if (run.dryRun) {
            return RunOptions.print(() -> LabelJob.dryRun(Storage.standalone(), config));
        }
        System.out.println(new LabelJob(spark.session("label")).run(config).summaryJson());
        return 0;
    }
}
