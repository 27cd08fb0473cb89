package org.distillery.jobs.export;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.distillery.jobs.common.PublishMode;

/**
 * Validated configuration of the export job.
 *
 * @param model        published model directory (model.zip) or a DL4J zip or Keras HDF5 file
 * @param format       {@value #ONNX}, the only one
 * @param quantize     {@value #NONE} (model.onnx only) or {@value #INT8} (model-int8.onnx too)
 * @param calibration  published transfer set whose rows calibrate int8 activations and verify the exports against DL4J;
 *                     required for int8; null without (the fp32 graph is then verified on seeded uniform rows)
 * @param calibrationRows at most this many rows, a seeded sample of the transfer set (by a hash of the row id)
 * @param percentile   activation ranges from the (100 - P)th to the Pth percentile of the values calibration saw;
 *                     100: their minimum and maximum
 * @param evaluation   published evaluate output whose report gives the model card its test metrics (the entries of
 *                     this model's file); null: none
 * @param out          output directory: model.onnx [+ model-int8.onnx], card.json, card.md
 * @param latencyRuns  single-row ONNX Runtime calls timed per exported file (after as many warm-up calls)
 * @param mode         what to do when {@code out} is already published
 */
public record ExportConfig(String model, String format, String quantize,
                           @JsonInclude(JsonInclude.Include.NON_NULL) String calibration, int calibrationRows,
                           double percentile, @JsonInclude(JsonInclude.Include.NON_NULL) String evaluation, String out,
                           int latencyRuns, PublishMode mode) {
    public static final String ONNX = "onnx";
    public static final String NONE = "none";
    public static final String INT8 = "int8";
    public static final int DEFAULT_CALIBRATION_ROWS = 1000;
    public static final double DEFAULT_PERCENTILE = 100;
    public static final int DEFAULT_LATENCY_RUNS = 200;

    public ExportConfig {
        if (model == null || model.isBlank()) {
            throw new IllegalArgumentException("--model must be set, got '" + model + "'");
        }
        if (out == null || out.isBlank()) {
            throw new IllegalArgumentException("output directory must be set, got '" + out + "'");
        }
        if (!ONNX.equals(format)) {
            throw new IllegalArgumentException("export format must be onnx, got '" + format + "'");
        }
        if (!NONE.equals(quantize) && !INT8.equals(quantize)) {
            throw new IllegalArgumentException("--quantize must be none or int8, got '" + quantize + "'");
        }
        calibration = calibration == null || calibration.isBlank() ? null : calibration;
        evaluation = evaluation == null || evaluation.isBlank() ? null : evaluation;
        if (INT8.equals(quantize) && calibration == null) {
            throw new IllegalArgumentException("int8 quantization needs calibration rows: give --calibration with a"
                    + " published transfer set, got none");
        }
        if (calibrationRows < 1) {
            throw new IllegalArgumentException("calibration rows must be >= 1, got " + calibrationRows);
        }
        if (!(percentile > 50 && percentile <= 100)) {
            throw new IllegalArgumentException("calibration percentile must be in (50, 100], got " + percentile);
        }
        if (latencyRuns < 1) {
            throw new IllegalArgumentException("latency runs must be >= 1, got " + latencyRuns);
        }
        mode = PublishMode.wholeOutput(mode, "export");
    }

    /** fp32 only, no calibration or evaluation, default settings: the common case. */
    public ExportConfig(String model, String out) {
        this(model, ONNX, NONE, null, DEFAULT_CALIBRATION_ROWS, DEFAULT_PERCENTILE, null, out, DEFAULT_LATENCY_RUNS,
                PublishMode.FAIL_IF_EXISTS);
    }

    /** This config with int8 quantization calibrated on {@code transfer}. */
    public ExportConfig withInt8(String transfer) {
        return new ExportConfig(model, format, INT8, transfer, calibrationRows, percentile, evaluation, out,
                latencyRuns, mode);
    }

    public ExportConfig withEvaluation(String dir) {
        return new ExportConfig(model, format, quantize, calibration, calibrationRows, percentile, dir, out,
                latencyRuns, mode);
    }

    public ExportConfig withMode(PublishMode m) {
        return new ExportConfig(model, format, quantize, calibration, calibrationRows, percentile, evaluation, out,
                latencyRuns, m);
    }

    public boolean int8() {
        return INT8.equals(quantize);
    }
}
