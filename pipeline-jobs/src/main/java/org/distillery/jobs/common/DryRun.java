package org.distillery.jobs.common;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a job would do, established by the same checks a real run makes first (config, input manifests and Parquet
 * footers, teacher checksum, output rule) but without Spark. {@link #text()} is for people, {@link #summaryJson()}
 * is the one-line JSON a dry run prints last.
 */
public final class DryRun {
    private final String job;
    private final Map<String, Object> plan = new LinkedHashMap<>();

    public DryRun(String job) {
        this.job = job;
    }

    public DryRun with(String key, Object value) {
        plan.put(key, value);
        return this;
    }

    public String text() {
        StringBuilder b = new StringBuilder("distill " + job + " --dry-run: all checks passed, nothing was run\n");
        int width = plan.keySet().stream().mapToInt(String::length).max().orElse(0);
        plan.forEach((k, v) -> b.append("  ").append(String.format("%-" + width + "s", k)).append("  ").append(v)
                .append('\n'));
        return b.toString();
    }

    public String summaryJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job", job);
        m.put("dryRun", true);
        m.putAll(plan);
        return org.distillery.model.schema.Manifest.oneLine(m);
    }
}
