package org.distillery.jobs.common;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The SparkSession every job runs in. Under spark-submit the submitted configuration wins; when no master is set (plain
 * {@code java}, {@code bin/distill}, tests) it is Spark local mode on loopback with the UI off. Either way the
 * executors choose their OpenBLAS kernel as they start ({@link BlasKernelPlugin}, added to {@code spark.plugins}).
 */
public final class Sparks {
    private static final String PLUGINS = "spark.plugins";

    private Sparks() {
    }

    /** The active session, or a new one; {@code localMaster} (e.g. {@code local[2]}) applies only without a master. */
    public static SparkSession session(String appName, String localMaster) {
        SparkConf conf = new SparkConf();
        if (!conf.contains("spark.master")) {
            conf.setMaster(localMaster)
                    .set("spark.ui.enabled", "false")
                    .set("spark.driver.host", "127.0.0.1")
                    .set("spark.driver.bindAddress", "127.0.0.1")
                    .set("spark.sql.shuffle.partitions", "8")
                    .set("spark.sql.adaptive.enabled", "false");
            String localDir = System.getProperty("spark.local.dir");
            if (localDir != null) {
                conf.set("spark.local.dir", localDir);
            }
        }
        String plugins = conf.get(PLUGINS, "");
        if (!java.util.Arrays.asList(plugins.split(",")).contains(BlasKernelPlugin.class.getName())) {
            conf.set(PLUGINS, plugins.isBlank() ? BlasKernelPlugin.class.getName()
                    : plugins + "," + BlasKernelPlugin.class.getName());
        }
        return SparkSession.builder().appName(appName).config(conf).getOrCreate();
    }
}
