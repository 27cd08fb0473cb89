package org.distillery.jobs.common;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a job hands back: the published path, its manifest id, rows written and wall seconds. {@link #summaryJson()} is
 * the one-line JSON a job prints last, for an Airflow task to push as XCom.
 */
public record JobResult(String job, String path, String manifestId, long rows, double seconds) {
    public String summaryJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job", job);
        m.put("path", path);
        m.put("manifest", manifestId);
        m.put("rows", rows);
        m.put("seconds", Math.round(seconds * 10) / 10.0);
        return org.distillery.model.schema.Manifest.oneLine(m);
    }
}
