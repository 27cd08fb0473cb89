package org.distillery.jobs.evaluate;

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
 */
public record EvaluateConfig(String test, String teacher, Map<String, String> models, String out, int latencyRuns,
                             String validation, boolean allowOtherTeacher) {
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
        if (latencyRuns < 1) {
            throw new IllegalArgumentException("latency runs must be >= 1, got " + latencyRuns);
        }
    }
}
