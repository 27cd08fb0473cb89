package org.distillery.jobs.ingest;

/**
 * Validated configuration of the ingest job.
 *
 * @param source     directory holding the four Fashion-MNIST IDX files (plain or .gz)
 * @param out        output directory; {@code train}, {@code validation} and {@code test} are published under it
 * @param validation rows held out of the training split for choices made during training (never the test split)
 * @param seed       seed of the stratified validation selection
 */
public record IngestConfig(String source, String out, int validation, long seed) {
    public static final String DEFAULT_SOURCE = "/usr/share/datasets/fashion-mnist";

    public IngestConfig {
        if (source == null || source.isBlank()) {
            throw new IllegalArgumentException("source directory must be set, got '" + source + "'");
        }
        if (out == null || out.isBlank()) {
            throw new IllegalArgumentException("output directory must be set, got '" + out + "'");
        }
        if (validation < 0) {
            throw new IllegalArgumentException("validation rows must be >= 0, got " + validation);
        }
    }
}
