package org.distillery.jobs.cli;

import java.util.concurrent.Callable;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.ingest.IngestConfig;
import org.distillery.jobs.ingest.IngestJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "ingest", mixinStandardHelpOptions = true,
        description = "Fashion-MNIST IDX files -> Parquet transfer sets OUT/train, OUT/validation, OUT/test.")
final class IngestCommand implements Callable<Integer> {
    @Option(names = "--source", defaultValue = IngestConfig.DEFAULT_SOURCE, paramLabel = "DIR",
            description = "Directory with the IDX files (default: ${DEFAULT-VALUE}, Debian's dataset-fashion-mnist).")
    String source;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
    String out;
    @Option(names = "--validation", defaultValue = "5000", description = "Rows held out of train (default: ${DEFAULT-VALUE}).")
    int validation;
    @Option(names = "--seed", defaultValue = "42", description = "Seed of the validation selection (default: ${DEFAULT-VALUE}).")
    long seed;
    @Mixin
    SparkOptions spark;
    @Mixin
    RunOptions run;

    @Override
    public Integer call() {
        IngestConfig config = new IngestConfig(source, out, validation, seed);
        if (run.dryRun) {
            return RunOptions.print(() -> IngestJob.dryRun(Storage.standalone(), config));
        }
        JobResult last = null;
        for (JobResult r : new IngestJob(spark.session("ingest")).run(config)) {
            last = r;
            System.out.println(r.summaryJson());
        }
        return last == null ? 1 : 0;
    }
}
