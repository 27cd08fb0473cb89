package org.distillery.jobs.cli;

import org.distillery.jobs.common.PublishMode;
import picocli.CommandLine.Option;

/**
 * {@code --mode} of the jobs that publish one output and either refuse or replace an existing one. Label (which adds
 * incremental) and ingest (which keeps splits published by the same config) declare their own.
 */
final class OutputMode {
    @Option(names = "--mode", defaultValue = "fail-if-exists", paramLabel = "fail-if-exists|overwrite",
            description = "When OUT is already published: fail-if-exists (default) or overwrite (the old output stays"
                    + " until the new one is complete).")
    String mode;

    PublishMode parsed() {
        return PublishMode.parse(mode);
    }
}
