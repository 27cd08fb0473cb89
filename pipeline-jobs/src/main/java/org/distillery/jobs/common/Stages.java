package org.distillery.jobs.common;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.distillery.model.schema.Manifest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Multi-step commands (demo, experiments) as resumable stages: a stage whose output is already published with the
 * same config is reused, one published with another config stops the run, anything else runs. Records each stage's
 * wall seconds (0 when reused).
 */
public final class Stages {
    private static final Logger LOG = LoggerFactory.getLogger(Stages.class);
    private final Storage storage;
    private final Map<String, Double> seconds = new LinkedHashMap<>();

    public Stages(Storage storage) {
        this.storage = storage;
    }

    /** Runs {@code step} unless {@code marker} (its output) is already published by {@code config}. */
    public void run(String name, String marker, Object config, Supplier<?> step) {
        if (storage.exists(marker)) {
            Manifest m = storage.publishedManifest(marker);
            if (!m.madeBy(config)) {
                throw new IllegalArgumentException("output " + marker + " exists with a different config (manifest "
                        + m.id() + "); use another --out or remove it");
            }
            LOG.info("{}: reusing published {} (manifest {})", name, marker, m.id());
            seconds.put(name, 0.0);
            return;
        }
        LOG.info("{}: starting", name);
        long t0 = System.nanoTime();
        step.get();
        seconds.put(name, (System.nanoTime() - t0) / 1e9);
        LOG.info("{}: done in {} s", name, String.format("%.1f", seconds.get(name)));
    }

    /** Records a stage timed by the caller. */
    public void record(String name, double s) {
        seconds.put(name, s);
    }

    public Map<String, Double> seconds() {
        return seconds;
    }
}
