package org.distillery.jobs.evaluate;

import java.util.Arrays;
import org.distillery.model.loss.SoftTargets;

/** What evaluation measures of one model's logits on the test split, against labels and the teacher's logits. */
public final class Metrics {
    static final int ECE_BINS = 15;

    private Metrics() {
    }

    static double[] perClassAccuracy(float[][] logits, int[] labels, int classes) {
        double[] ok = new double[classes];
        double[] n = new double[classes];
        for (int i = 0; i < labels.length; i++) {
            n[labels[i]]++;
            ok[labels[i]] += SoftTargets.argmax(logits[i]) == labels[i] ? 1 : 0;
        }
        double[] acc = new double[classes];
        for (int c = 0; c < classes; c++) {
            acc[c] = n[c] == 0 ? Double.NaN : ok[c] / n[c];
        }
        return acc;
    }

    /** Fraction of rows where the model's top-1 class equals the teacher's. */
    static double agreement(float[][] model, float[][] teacher) {
        int same = 0;
        for (int i = 0; i < model.length; i++) {
            same += SoftTargets.argmax(model[i]) == SoftTargets.argmax(teacher[i]) ? 1 : 0;
        }
        return (double) same / model.length;
    }

    /** Mean KL(p_teacher || p_model) at T = 1, in nats. */
    static double meanKl(float[][] model, float[][] teacher) {
        double sum = 0;
        for (int i = 0; i < model.length; i++) {
            // rounding can make KL of (near-)identical distributions a hair negative; it is >= 0 by definition
            sum += Math.max(0, SoftTargets.kl(SoftTargets.soften(teacher[i], 1), SoftTargets.soften(model[i], 1)));
        }
        return sum / model.length;
    }

    /** Expected calibration error of the top-1 confidence over {@value #ECE_BINS} equal-width bins. */
    public static double ece(float[][] logits, int[] labels) {
        return org.distillery.model.calibration.Reliability.ece(logits, labels, ECE_BINS);
    }

    static double median(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
    }

    /** One entry per class, in index order: its name, test rows and accuracy (null where the test split has none). */
    static java.util.List<java.util.Map<String, Object>> perClass(java.util.List<String> names, double[] accuracy,
                                                                 int[] labels) {
        long[] rows = new long[names.size()];
        for (int y : labels) {
            rows[y]++;
        }
        java.util.List<java.util.Map<String, Object>> out = new java.util.ArrayList<>();
        for (int c = 0; c < names.size(); c++) {
            java.util.Map<String, Object> e = new java.util.LinkedHashMap<>();
            e.put("class", names.get(c));
            e.put("index", c);
            e.put("rows", rows[c]);
            e.put("accuracy", rows[c] == 0 ? null : accuracy[c]);
            out.add(e);
        }
        return out;
    }
}
