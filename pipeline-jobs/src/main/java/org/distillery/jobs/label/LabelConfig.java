package org.distillery.jobs.label;

/**
 * Validated configuration of the label job.
 *
 * @param transfer    published transfer set to label
 * @param teacher     published teacher directory or a DL4J model zip
 * @param out         output directory for the soft targets
 * @param temperature T of the stored {@code soft} column, softmax(logits / T); raw logits are always stored too
 * @param batchSize   rows per teacher inference call
 */
public record LabelConfig(String transfer, String teacher, String out, double temperature, int batchSize) {
    public static final double DEFAULT_TEMPERATURE = 2.0;
    public static final int DEFAULT_BATCH = 1024;

    public LabelConfig {
        require(transfer, "transfer");
        require(teacher, "teacher");
        require(out, "out");
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        if (trimSlash(out).equals(trimSlash(transfer)) || trimSlash(out).startsWith(trimSlash(transfer) + "/")) {
            throw new IllegalArgumentException("output must not be inside the input: out=" + out + ", transfer=" + transfer);
        }
    }

    private static String trimSlash(String p) {
        return p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }

    private static void require(String v, String name) {
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException(name + " path must be set, got '" + v + "'");
        }
    }
}
