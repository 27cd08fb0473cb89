package org.distillery.jobs.evaluate;

import java.util.Map;

/** The human-readable table printed after evaluation. */
final class Report {
    private Report() {
    }

    static String table(Map<String, Map<String, Object>> models) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-14s %9s %10s %9s %7s %10s %10s %11s%n", "model", "accuracy", "agreement",
                "KL(t||m)", "ECE", "params", "bytes", "latency_ms"));
        models.forEach((name, m) -> sb.append(String.format("%-14s %9.4f %10.4f %9.4f %7.4f %10d %10d %11.3f%n", name,
                (double) m.get("accuracy"), (double) m.get("agreement_with_teacher"),
                (double) m.get("mean_kl_from_teacher"), (double) m.get("ece"), (long) m.get("params"),
                (long) m.get("model_bytes"), (double) m.get("latency_ms_p50"))));
        return sb.toString();
    }
}
