package org.distillery.jobs.cli;

import java.util.function.Supplier;
import org.distillery.jobs.common.DryRun;
import picocli.CommandLine.Option;

/** Options every job takes, the pipeline config file and the dry run, and the tail every job command ends with. */
final class RunOptions {
    @Option(names = "--config", paramLabel = "FILE",
            description = "Pipeline config file (HOCON): values for this job's options in a section named after the job,"
                    + " e.g. label { temperature = 4 }. Flags override the file, the file overrides defaults.")
    String config;
    @Option(names = "--dry-run", arity = "0..1", fallbackValue = "true",
            description = "Check the config, the inputs (manifests, Parquet schemas, teacher checksum) and the output"
                    + " path without running Spark, print the plan and exit.")
    boolean dryRun;

    /**
     * The tail of every job command: with {@code --dry-run}, prints the plan; otherwise runs {@code job}, which prints
     * what it reports and returns its one-line JSON summary (or summaries, one a line). Either way the summary is the
     * last line printed. Returns the exit code: 0, or 1 when the job published nothing to summarise (null).
     */
    int dryRunOrRun(Supplier<DryRun> plan, Supplier<String> job) {
        if (dryRun) {
            DryRun p = plan.get();
            System.out.print(p.text());
            System.out.println(p.summaryJson());
            return 0;
        }
        String summary = job.get();
        if (summary == null) {
            return 1;
        }
        System.out.println(summary);
        return 0;
    }
}
