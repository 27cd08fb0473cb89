package org.distillery.jobs.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.distillery.jobs.augment.AugmentConfig;
import org.distillery.jobs.augment.AugmentJob;
import org.distillery.jobs.common.Storage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "augment", mixinStandardHelpOptions = true,
        description = "Widen a published transfer set with seeded transforms: each source row (kept, with its label)"
                + " and --copies transformed, unlabelled copies with their own stable ids and source_id, published as a"
                + " transfer set for the teacher to label.")
final class AugmentCommand implements Callable<Integer> {
    @Option(names = "--transfer", required = true, paramLabel = "DIR", description = "Published transfer set.")
    String transfer;
    @Option(names = "--transform", required = true, split = ",", paramLabel = "T",
            description = "Transforms applied in order to each copy (repeatable or comma-separated): shift=S (images:"
                    + " up to S pixels each way, 0 fill), flip (images: left-right, probability 1/2), noise=SIGMA"
                    + " (Gaussian, on the stored values), mixup=ALPHA (lambda ~ Beta(ALPHA, ALPHA) with another row).")
    List<String> transforms = new ArrayList<>();
    @Option(names = "--copies", defaultValue = "" + AugmentConfig.DEFAULT_COPIES, paramLabel = "N",
            description = "Augmented copies per source row (default: ${DEFAULT-VALUE}).")
    int copies;
    @Option(names = "--no-originals", description = "Write only the copies, not the source rows.")
    boolean noOriginals;
    @Option(names = "--labelled", paramLabel = "N",
            description = "Widen only the N labelled rows that train --labelled N with the same --seed keeps"
                    + " (stratified by class, seeded); the other rows are left out (default: every row).")
    Integer labelled;
    @Option(names = "--seed", defaultValue = "" + AugmentConfig.DEFAULT_SEED,
            description = "Seed of every copy's random stream, of the copies' ids and of the --labelled selection"
                    + " (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--max-rows", defaultValue = "" + AugmentConfig.DEFAULT_MAX_ROWS, paramLabel = "N",
            description = "Refuse a run that would write more rows than this (default: ${DEFAULT-VALUE}).")
    long maxRows;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (a transfer set).")
    String out;
    @Mixin
    OutputMode mode;
    @Mixin
    SparkOptions spark;
    @Mixin
    RunOptions run;

    @Override
    public Integer call() {
        AugmentConfig config = new AugmentConfig(transfer, transforms, copies, !noOriginals, labelled, seed, maxRows, out,
                mode.parsed());
        return run.dryRunOrRun(() -> AugmentJob.dryRun(Storage.standalone(), config),
                () -> new AugmentJob(spark.session("augment")).run(config).summaryJson());
    }
}
