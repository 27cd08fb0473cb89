package org.distillery.jobs.evaluate;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distillery.jobs.common.Scoring;
import org.distillery.model.calibration.Calibration;
import org.distillery.model.calibration.Reliability;

/**
 * One model's calibration report: temperature scaling and per-class bias correction, each fitted on the validation
 * logits and applied to the test logits; ECE before and after, accuracy after bias correction (temperature scaling
 * cannot change it), per-class accuracy after bias correction, and reliability tables before and after scaling.
 */
final class Calibrated {
    private Calibrated() {
    }

    static Map<String, Object> fit(float[][] validationLogits, int[] validationLabels, float[][] testLogits,
                                   int[] testLabels, int classes) {
        double t = Calibration.fitTemperature(validationLogits, validationLabels);
        double[] bias = Calibration.fitBias(validationLogits, validationLabels, classes);
        float[][] scaled = Calibration.apply(testLogits, t, null);
        float[][] corrected = Calibration.apply(testLogits, 1, bias);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("temperature", t);
        m.put("ece_before", Metrics.ece(testLogits, testLabels));
        m.put("ece_after_temperature", Metrics.ece(scaled, testLabels));
        m.put("nll_before", Calibration.nll(testLogits, testLabels, 1, null));
        m.put("nll_after_temperature", Calibration.nll(scaled, testLabels, 1, null));
        m.put("bias", bias);
        m.put("accuracy_after_bias", Scoring.accuracy(corrected, testLabels));
        m.put("ece_after_bias", Metrics.ece(corrected, testLabels));
        m.put("per_class_accuracy_after_bias", Metrics.perClassAccuracy(corrected, testLabels, classes));
        m.put("reliability_before", table(testLogits, testLabels));
        m.put("reliability_after_temperature", table(scaled, testLabels));
        return m;
    }

    private static List<Map<String, Object>> table(float[][] logits, int[] labels) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Reliability.Bin b : Reliability.table(logits, labels, 10)) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("confidence_from", b.lower());
            r.put("confidence_to", b.upper());
            r.put("count", b.count());
            r.put("mean_confidence", b.confidence());
            r.put("accuracy", b.accuracy());
            rows.add(r);
        }
        return rows;
    }
}
