package org.distillery.jobs.common;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a job hands back: the published path, its manifest id, rows written and wall seconds, and job-specific
 * {@code details} (e.g. which partitions a label run wrote). {@link #summaryJson()} is the one-line JSON a job prints
 * last, for an Airflow task to push as XCom.
 */
public record JobResult(String job, String path, String manifestId, long rows, double seconds,
                        Map<String, Object> details) {
    public JobResult {
        details = details == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(details));
    }

    public JobResult(String job, String path, String manifestId, long rows, double seconds) {
        this(job, path, manifestId, rows, seconds, Map.of());
    }

    public String summaryJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job", job);
        m.put("path", path);
        m.put("manifest", manifestId);
        m.put("rows", rows);
        m.put("seconds", Math.round(seconds * 10) / 10.0);
        m.putAll(details);
        return org.distillery.model.schema.Manifest.oneLine(m);
    }
}
