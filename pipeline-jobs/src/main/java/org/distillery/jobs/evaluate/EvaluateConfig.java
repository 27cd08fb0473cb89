package org.distillery.jobs.evaluate;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Validated configuration of the evaluate job.
 *
 * @param test         published test split (never used for any training choice)
 * @param teacher      published teacher directory, DL4J zip or Keras file: the reference for agreement and KL; null:
 *                     the teacher the distilled models' soft targets were labelled by (see {@link TeacherPin})
 * @param models       models to score, by name (e.g. baseline, pseudo_label, student), in report order
 * @param out          output directory for report.json
 * @param latencyRuns  single-example inference calls timed per model (after as many warm-up calls)
 * @param validation   published validation split on which temperature scaling and bias correction are fitted per
 *                     model (null: no calibration); never the test split
 * @param allowOtherTeacher measure agreement against {@code teacher} even when it is not the teacher the distilled
 *                     models' soft targets came from
 * @param lm           what an LM evaluation (a text test split) measures beyond the metrics: timing and samples; null
 *                     for the defaults, which keeps the config of a classifier evaluation as it was
 */
public record EvaluateConfig(String test, String teacher, Map<String, String> models, String out, int latencyRuns,
                             String validation, boolean allowOtherTeacher,
                             @JsonInclude(JsonInclude.Include.NON_NULL) Lm lm) {
    /**
     * The LM-only settings, each with one default.
     *
     * @param samples           texts generated per model from the fixed prompt
     * @param sampleTokens      tokens generated per sample
     * @param sampleTemperature softmax temperature of sampling (0: greedy)
     * @param topP              nucleus of sampling, in (0, 1]
     * @param seed              seed of sample i is seed + i, the same for every model
     * @param throughputBatch   windows per forward pass when timing batched throughput
     */
    public record Lm(int samples, int sampleTokens, double sampleTemperature, double topP, long seed,
                     int throughputBatch) {
        public static final int SAMPLES = 3;
        public static final int SAMPLE_TOKENS = 80;
        public static final double SAMPLE_TEMPERATURE = 0.8;
        public static final double TOP_P = 0.95;
        public static final long SEED = 20;
        public static final int THROUGHPUT_BATCH = 64;
        public static final Lm DEFAULTS = new Lm(SAMPLES, SAMPLE_TOKENS, SAMPLE_TEMPERATURE, TOP_P, SEED,
                THROUGHPUT_BATCH);

        public Lm {
            if (samples < 0) {
                throw new IllegalArgumentException("--samples must be >= 0, got " + samples);
            }
            if (sampleTokens < 1) {
                throw new IllegalArgumentException("--sample-tokens must be >= 1, got " + sampleTokens);
            }
            if (!(sampleTemperature >= 0) || Double.isInfinite(sampleTemperature)) {
                throw new IllegalArgumentException("--sample-temperature must be a finite number >= 0, got "
                        + sampleTemperature);
            }
            if (!(topP > 0 && topP <= 1)) {
                throw new IllegalArgumentException("--top-p must be in (0, 1], got " + topP);
            }
            if (throughputBatch < 1) {
                throw new IllegalArgumentException("--throughput-batch must be >= 1, got " + throughputBatch);
            }
        }

        public Lm withSamples(int n, int tokens) {
            return new Lm(n, tokens, sampleTemperature, topP, seed, throughputBatch);
        }

        public Lm withSampling(double temperature, double p, long s) {
            return new Lm(samples, sampleTokens, temperature, p, s, throughputBatch);
        }

        public Lm withThroughputBatch(int batch) {
            return new Lm(samples, sampleTokens, sampleTemperature, topP, seed, batch);
        }
    }

    /** With the LM defaults. */
    public EvaluateConfig(String test, String teacher, Map<String, String> models, String out, int latencyRuns,
                          String validation, boolean allowOtherTeacher) {
        this(test, teacher, models, out, latencyRuns, validation, allowOtherTeacher, null);
    }

    /** Without calibration. */
    public EvaluateConfig(String test, String teacher, Map<String, String> models, String out, int latencyRuns) {
        this(test, teacher, models, out, latencyRuns, null);
    }

    /** The teacher pinned by the models' soft targets (or none). */
    public EvaluateConfig(String test, String teacher, Map<String, String> models, String out, int latencyRuns,
                          String validation) {
        this(test, teacher, models, out, latencyRuns, validation, false);
    }

    public EvaluateConfig {
        if (test == null || test.isBlank()) {
            throw new IllegalArgumentException("--test must be set, got '" + test + "'");
        }
        teacher = teacher == null || teacher.isBlank() ? null : teacher;
        if (out == null || out.isBlank()) {
            throw new IllegalArgumentException("output directory must be set, got '" + out + "'");
        }
        models = models == null ? Map.of() : new LinkedHashMap<>(models);
        if (models.containsKey("teacher")) {
            throw new IllegalArgumentException("model name 'teacher' is reserved for --teacher");
        }
        for (String name : models.keySet()) {
            if (!name.matches("[A-Za-z0-9_\\-]+")) {
                throw new IllegalArgumentException("model names are letters, digits, '_' and '-', got '" + name + "'");
            }
        }
        validation = validation == null || validation.isBlank() ? null : validation;
        if (validation != null && validation.equals(test)) {
            throw new IllegalArgumentException("calibration must not be fitted on the test split: --validation " + validation);
        }
        lm = Lm.DEFAULTS.equals(lm) ? null : lm;
        if (latencyRuns < 1) {
            throw new IllegalArgumentException("latency runs must be >= 1, got " + latencyRuns);
        }
    }

    /** The LM settings in force (the defaults when none were set). */
    public Lm lmSettings() {
        return lm == null ? Lm.DEFAULTS : lm;
    }

    public EvaluateConfig withLm(Lm settings) {
        return new EvaluateConfig(test, teacher, models, out, latencyRuns, validation, allowOtherTeacher, settings);
    }
}
