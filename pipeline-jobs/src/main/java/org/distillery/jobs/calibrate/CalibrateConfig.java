package org.distillery.jobs.calibrate;

import java.util.Locale;
import org.distillery.jobs.common.PublishMode;

/**
 * Validated configuration of the calibrate job.
 *
 * @param model      published model directory (or a DL4J zip or Keras file) whose output layer gets the calibration
 * @param validation published split with labels the calibration is fitted on (never the test split)
 * @param method     what is fitted and folded in
 * @param out        output directory of the calibrated model
 * @param mode       what to do when {@code out} is already published
 */
public record CalibrateConfig(String model, String validation, Method method, String out, PublishMode mode) {
    public static final String DEFAULT_METHOD = "temperature";

    /** What is fitted: a temperature (keeps every argmax), per-class biases (may change it), or both. */
    public enum Method {
        TEMPERATURE("temperature"), BIAS("bias"), TEMPERATURE_AND_BIAS("temperature+bias");

        private final String id;

        Method(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        public static Method parse(String s) {
            for (Method m : values()) {
                if (m.id.equals(s == null ? null : s.toLowerCase(Locale.ROOT))) {
                    return m;
                }
            }
            throw new IllegalArgumentException("--method must be temperature, bias or temperature+bias, got '" + s
                    + "'");
        }

        boolean temperature() {
            return this != BIAS;
        }

        boolean bias() {
            return this != TEMPERATURE;
        }
    }

    public CalibrateConfig {
        if (model == null || model.isBlank() || validation == null || validation.isBlank()) {
            throw new IllegalArgumentException("--model and --validation must be set, got model='" + model
                    + "', validation='" + validation + "'");
        }
        if (out == null || out.isBlank()) {
            throw new IllegalArgumentException("--out must be set, got '" + out + "'");
        }
        if (method == null) {
            method = Method.parse(DEFAULT_METHOD);
        }
        mode = PublishMode.wholeOutput(mode, "calibrate");
    }
}
