package org.distillery.jobs.common;

import java.util.Map;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;
import org.distillery.model.nn.BlasKernel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies {@value BlasKernel#CONF} in each executor JVM as it starts, before a task loads ND4J: an executor's CPU is
 * its own, so each chooses by its own flags and logs the choice. A named kernel the executor's CPU cannot run falls
 * back to {@code auto} there with a warning instead of stopping the executor (the driver refuses such a name on its
 * own CPU). In local mode the executor is the driver's JVM, which chose already; nothing changes then.
 */
public final class BlasKernelPlugin implements SparkPlugin {
    private static final Logger LOG = LoggerFactory.getLogger(BlasKernelPlugin.class);

    @Override
    public DriverPlugin driverPlugin() {
        return null;
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return new ExecutorPlugin() {
            @Override
            public void init(PluginContext ctx, Map<String, String> extraConf) {
                String requested = ctx.conf().get(BlasKernel.CONF, BlasKernel.AUTO);
                BlasKernel.Choice c = BlasKernel.apply(requested, false);
                if (!requested.trim().equalsIgnoreCase(c.setting())) { // a name this executor's CPU cannot run
                    LOG.warn("blas: executor {}: {}", ctx.executorID(), c.describe());
                } else if (!"driver".equals(ctx.executorID())) { // local mode: the driver's JVM logged its choice
                    LOG.info("blas: executor {}: {}", ctx.executorID(), c.describe());
                }
            }
        };
    }
}
