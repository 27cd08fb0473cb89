package org.distillery.jobs;

import org.apache.spark.sql.SparkSession;
import org.distillery.jobs.common.Sparks;

/**
 * The one Spark session of the test suite: {@code local[2,2]} (two threads; a failed task is retried once, as on a
 * cluster), UI off, driver on loopback (see {@link Sparks}), created on first use and stopped by Spark's shutdown hook
 * when the test JVM exits.
 */
public abstract class SparkTestBase {
    private static SparkSession spark;

    protected static synchronized SparkSession spark() {
        if (spark == null) {
            spark = Sparks.session("distillery-tests", "local[2,2]");
        }
        return spark;
    }
}
