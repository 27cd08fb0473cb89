package org.distillery.model.calibration;

import java.util.ArrayList;
import java.util.List;

/**
 * A reliability table: predictions binned by confidence (the top softmax probability) into equal-width bins, each
 * with its count, mean confidence and accuracy. The expected calibration error is the count-weighted mean gap.
 */
public final class Reliability {
    private Reliability() {
    }

    /** One bin: confidence in [lower, upper), the predictions in it, their mean confidence and accuracy. */
    public record Bin(double lower, double upper, long count, double confidence, double accuracy) {
    }

    public static List<Bin> table(float[][] logits, int[] labels, int bins) {
        long[] count = new long[bins];
        double[] conf = new double[bins];
        double[] correct = new double[bins];
        for (int i = 0; i < logits.length; i++) {
            double[] z = new double[logits[i].length];
            int arg = 0;
            for (int c = 0; c < z.length; c++) {
                z[c] = logits[i][c];
                arg = z[c] > z[arg] ? c : arg;
            }
            double p = Calibration.softmax(z)[arg];
            int b = Math.min(bins - 1, (int) (p * bins));
            count[b]++;
            conf[b] += p;
            correct[b] += arg == labels[i] ? 1 : 0;
        }
        List<Bin> out = new ArrayList<>();
        for (int b = 0; b < bins; b++) {
            out.add(new Bin(b / (double) bins, (b + 1) / (double) bins, count[b],
                    count[b] == 0 ? 0 : conf[b] / count[b], count[b] == 0 ? 0 : correct[b] / count[b]));
        }
        return out;
    }

    /** Expected calibration error over {@code bins} equal-width confidence bins. */
    public static double ece(float[][] logits, int[] labels, int bins) {
        double sum = 0;
        for (Bin b : table(logits, labels, bins)) {
            sum += b.count() * Math.abs(b.confidence() - b.accuracy());
        }
        return sum / logits.length;
    }
}
