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
        models.forEach((name, m) -> sb.append(String.format("%-14s %9.4f %10s %9s %7.4f %10d %10d %11.3f%n", name,
                (double) m.get("accuracy"), number(m.get("agreement_with_teacher")),
                number(m.get("mean_kl_from_teacher")), (double) m.get("ece"), (long) m.get("params"),
                (long) m.get("model_bytes"), (double) m.get("latency_ms_p50"))));
        return sb.toString();
    }

    /** A metric to 4 decimals, or "-" when it was not measured (no teacher to compare with). */
    private static String number(Object v) {
        return v == null ? "-" : String.format("%.4f", (double) v);
    }

    /** Test accuracy per class (rows: class names; columns: models), for up to 50 classes. */
    static String perClassTable(Map<String, Map<String, Object>> models, java.util.List<String> classNames) {
        if (classNames.size() > 50) {
            return "";
        }
        int width = Math.max(14, classNames.stream().mapToInt(String::length).max().orElse(0) + 1);
        StringBuilder sb = new StringBuilder(String.format("%-" + width + "s", "per class"));
        models.keySet().forEach(name -> sb.append(String.format(" %14s", name)));
        sb.append(String.format("%n"));
        for (int c = 0; c < classNames.size(); c++) {
            sb.append(String.format("%-" + width + "s", classNames.get(c)));
            for (Map<String, Object> m : models.values()) {
                double a = ((double[]) m.get("per_class_accuracy"))[c];
                sb.append(Double.isNaN(a) ? String.format(" %14s", "-") : String.format(" %14.4f", a));
            }
            sb.append(String.format("%n"));
        }
        return sb.toString();
    }

    /** Calibration fitted on validation, applied to test: ECE before and after, accuracy after bias correction. */
    static String calibrationTable(Map<String, Map<String, Object>> models) {
        StringBuilder sb = new StringBuilder(String.format("%-14s %7s %9s %9s %9s %11s%n", "calibration", "T",
                "ECE", "ECE(T)", "ECE(bias)", "acc(bias)"));
        models.forEach((name, m) -> {
            @SuppressWarnings("unchecked")
            Map<String, Object> c = (Map<String, Object>) m.get("calibration");
            sb.append(String.format("%-14s %7.3f %9.4f %9.4f %9.4f %11.4f%n", name, (double) c.get("temperature"),
                    (double) c.get("ece_before"), (double) c.get("ece_after_temperature"),
                    (double) c.get("ece_after_bias"), (double) c.get("accuracy_after_bias")));
        });
        return sb.toString();
    }

    /** The LM table: next-token quality, agreement with the teacher ("-" without one), size and speed. */
    static String lmTable(Map<String, Map<String, Object>> models) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-14s %9s %10s %8s %8s %9s %7s %10s %10s %12s %11s%n", "model", "bits/char",
                "perplexity", "top1", "top5", "KL(t||m)", "ECE", "params", "bytes", "ms/token", "tokens/s"));
        models.forEach((name, m) -> sb.append(String.format("%-14s %9.4f %10.4f %8s %8s %9s %7.4f %10d %10d %12.4f"
                + " %11.0f%n", name, (double) m.get("bits_per_char"), (double) m.get("perplexity"),
                number(m.get("top1_agreement")), number(m.get("top5_agreement")), number(m.get("kl_teacher_student")),
                (double) m.get("ece"), (long) m.get("parameters"), (long) m.get("bytes"),
                (double) m.get("latency_ms_per_token"), (double) m.get("tokens_per_second"))));
        return sb.toString();
    }

    /** Each model's samples after the prompt, one per line, line breaks shown as a return symbol. */
    static String samplesTable(Map<String, Map<String, Object>> models, String prompt, EvaluateConfig.Lm settings) {
        if (settings.samples() == 0) {
            return "";
        }
        StringBuilder sb = new StringBuilder(String.format("samples (T = %s, top-p %s, seed %d) after \"%s\"%n",
                settings.sampleTemperature(), settings.topP(), settings.seed(), oneLine(prompt)));
        models.forEach((name, m) -> {
            @SuppressWarnings("unchecked")
            java.util.List<String> samples = (java.util.List<String>) m.get("samples");
            for (String text : samples) {
                sb.append(String.format("%-14s %s%n", name, oneLine(text)));
            }
        });
        return sb.toString();
    }

    private static String oneLine(String text) {
        return text.replace("\r", "").replace("\n", "\u23ce");
    }
}
