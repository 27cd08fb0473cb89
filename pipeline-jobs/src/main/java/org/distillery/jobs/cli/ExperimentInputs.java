package org.distillery.jobs.cli;

import picocli.CommandLine.Option;

/** The published inputs and run directory every experiment command takes. */
final class ExperimentInputs {
    @Option(names = "--transfer", required = true, paramLabel = "DIR", description = "Published transfer set.")
    String transfer;
    @Option(names = "--validation", required = true, paramLabel = "DIR",
            description = "Published validation split (epoch choice, calibration).")
    String validation;
    @Option(names = "--test", required = true, paramLabel = "DIR", description = "Published test split.")
    String test;
    @Option(names = "--teacher", required = true, paramLabel = "PATH",
            description = "Published teacher, DL4J zip or Keras file (.keras archive, or HDF5 of Keras 2 or 3).")
    String teacher;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Run directory.")
    String out;

    /** Prints an experiment's one-line JSON summary last, like every job (path: the result file). */
    static void printSummary(String job, String result, long startNanos) {
        System.out.println(new org.distillery.jobs.common.JobResult(job, result, null, 0,
                (System.nanoTime() - startNanos) / 1e9).summaryJson());
    }
}
