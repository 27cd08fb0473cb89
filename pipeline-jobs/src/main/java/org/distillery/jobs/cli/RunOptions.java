package org.distillery.jobs.cli;

import java.util.function.Supplier;
import org.distillery.jobs.common.DryRun;
import picocli.CommandLine.Option;

/** Options every job takes: the pipeline config file and the dry run. */
final class RunOptions {
    @Option(names = "--config", paramLabel = "FILE",
            description = "Pipeline config file (HOCON): values for this job's options in a section named after the job,"
                    + " e.g. label { temperature = 4 }. Flags override the file, the file overrides defaults.")
    String config;
    @Option(names = "--dry-run", arity = "0..1", fallbackValue = "true",
            description = "Check the config, the inputs (manifests, Parquet schemas, teacher checksum) and the output"
                    + " path without running Spark, print the plan and exit.")
    boolean dryRun;

    /** Prints the plan and its one-line JSON summary (last), returning exit code 0. */
    static int print(Supplier<DryRun> plan) {
        DryRun p = plan.get();
        System.out.print(p.text());
        System.out.println(p.summaryJson());
        return 0;
    }
}
