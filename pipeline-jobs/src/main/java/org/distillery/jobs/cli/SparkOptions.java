package org.distillery.jobs.cli;

import org.apache.spark.sql.SparkSession;
import org.distillery.jobs.common.Sparks;
import picocli.CommandLine.Option;

/** Where the job runs when it is not started by spark-submit. */
final class SparkOptions {
    @Option(names = "--local-master", defaultValue = "local[2]", paramLabel = "MASTER",
            description = "Spark master when not run by spark-submit (default: ${DEFAULT-VALUE}).")
    String localMaster;

    SparkSession session(String job) {
        return Sparks.session("distillery-" + job, localMaster);
    }
}
