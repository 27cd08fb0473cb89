package org.distillery.jobs.label;

import org.distillery.jobs.common.PublishMode;

/**
 * Validated configuration of the label job.
 *
 * @param transfer    published transfer set to label
 * @param teacher     published teacher directory or a DL4J model zip
 * @param out         output directory for the soft targets
 * @param temperature T of the stored {@code soft} column, softmax(logits / T); raw logits are always stored too
 * @param batchSize   rows per teacher inference call
 * @param teacherSha256 when set, the teacher file's SHA-256 must equal it (the run is refused otherwise)
 * @param mode        what to do when {@code out} is already published
 */
public record LabelConfig(String transfer, String teacher, String out, double temperature, int batchSize,
                          String teacherSha256, PublishMode mode) {
    public static final double DEFAULT_TEMPERATURE = 2.0;
    public static final int DEFAULT_BATCH = 1024;

    public LabelConfig {
        require(transfer, "transfer");
        require(teacher, "teacher");
        require(out, "out");
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        }
        if (teacherSha256 != null && !teacherSha256.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("teacher SHA-256 must be 64 lower-case hex digits, got '" + teacherSha256
                    + "'");
        }
        mode = mode == null ? PublishMode.FAIL_IF_EXISTS : mode;
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        if (trimSlash(out).equals(trimSlash(transfer)) || trimSlash(out).startsWith(trimSlash(transfer) + "/")) {
            throw new IllegalArgumentException("output must not be inside the input: out=" + out + ", transfer=" + transfer);
        }
    }

    /** The common case: no pinned teacher, refuse an existing output. */
    public LabelConfig(String transfer, String teacher, String out, double temperature, int batchSize) {
        this(transfer, teacher, out, temperature, batchSize, null, PublishMode.FAIL_IF_EXISTS);
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
