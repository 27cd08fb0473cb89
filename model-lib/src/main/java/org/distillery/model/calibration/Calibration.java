package org.distillery.model.calibration;

/**
 * Post-hoc calibrators fitted by minimising the negative log-likelihood of held-out labels. Both are pure functions
 * of (logits, labels); neither looks at the data it is later applied to.
 */
public final class Calibration {
    private static final double MIN_T = 0.05;
    private static final double MAX_T = 20;

    private Calibration() {
    }

    /** Mean negative log-likelihood of {@code labels} under softmax(logits / t + bias). */
    public static double nll(float[][] logits, int[] labels, double t, double[] bias) {
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            double[] a = adjusted(logits[i], t, bias);
            sum += logSumExp(a) - a[labels[i]];
        }
        return sum / logits.length;
    }

    /** The temperature t minimising the NLL of softmax(logits / t) (golden-section search on log t in [0.05, 20]). */
    public static double fitTemperature(float[][] logits, int[] labels) {
        double lo = Math.log(MIN_T);
        double hi = Math.log(MAX_T);
        double g = (Math.sqrt(5) - 1) / 2;
        double a = hi - g * (hi - lo);
        double b = lo + g * (hi - lo);
        double fa = nll(logits, labels, Math.exp(a), null);
        double fb = nll(logits, labels, Math.exp(b), null);
        for (int it = 0; it < 60; it++) { // NLL is unimodal in log t for a fixed model
            if (fa < fb) {
                hi = b;
                b = a;
                fb = fa;
                a = hi - g * (hi - lo);
                fa = nll(logits, labels, Math.exp(a), null);
            } else {
                lo = a;
                a = b;
                fa = fb;
                b = lo + g * (hi - lo);
                fb = nll(logits, labels, Math.exp(b), null);
            }
        }
        return Math.exp((lo + hi) / 2);
    }

    /**
     * Per-class additive biases b minimising the NLL of softmax(logits + b): a convex problem, solved by gradient
     * descent with a backtracking step. b is shifted to mean 0 (softmax ignores a common shift).
     */
    public static double[] fitBias(float[][] logits, int[] labels, int classes) {
        double[] b = new double[classes];
        double step = 1.0;
        double f = nll(logits, labels, 1, b);
        for (int it = 0; it < 500 && step > 1e-9; it++) {
            double[] grad = new double[classes];
            for (int i = 0; i < logits.length; i++) {
                double[] p = softmax(adjusted(logits[i], 1, b));
                for (int c = 0; c < classes; c++) {
                    grad[c] += p[c] - (c == labels[i] ? 1 : 0);
                }
            }
            double norm = 0;
            for (int c = 0; c < classes; c++) {
                grad[c] /= logits.length;
                norm += grad[c] * grad[c];
            }
            if (norm < 1e-14) {
                break;
            }
            while (step > 1e-9) { // Armijo backtracking
                double[] next = new double[classes];
                for (int c = 0; c < classes; c++) {
                    next[c] = b[c] - step * grad[c];
                }
                double fn = nll(logits, labels, 1, next);
                if (fn <= f - 0.5 * step * norm) {
                    b = next;
                    f = fn;
                    step *= 2;
                    break;
                }
                step /= 2;
            }
        }
        double mean = 0;
        for (double v : b) {
            mean += v / classes;
        }
        for (int c = 0; c < classes; c++) {
            b[c] -= mean;
        }
        return b;
    }

    /**
     * Hinton et al.'s correction for a class the student never saw (2015, section 3.1): the one bias b of class
     * {@code c} that maximises the accuracy of argmax(logits + b e_c) on {@code labels}, found exactly. Accuracy is a
     * step function of b: row i's prediction becomes c once b exceeds max_{j != c} z_ij - z_ic, so only the midpoints
     * between those thresholds (and b = 0) need trying. Ties go to the smallest |b|, and only raising (b >= 0) is
     * tried, as the class is under-predicted.
     */
    public static double fitClassBias(float[][] logits, int[] labels, int c) {
        int n = logits.length;
        double[] threshold = new double[n]; // row i is predicted as c once the bias exceeds this
        boolean[] rightAsC = new boolean[n];
        boolean[] rightAsOther = new boolean[n]; // its best other class is its label
        int correct = 0; // at a bias below every threshold: no row goes to c
        for (int i = 0; i < n; i++) {
            double others = Double.NEGATIVE_INFINITY;
            int other = -1;
            for (int j = 0; j < logits[i].length; j++) {
                if (j != c && logits[i][j] > others) {
                    others = logits[i][j];
                    other = j;
                }
            }
            threshold[i] = others - logits[i][c];
            rightAsC[i] = labels[i] == c;
            rightAsOther[i] = labels[i] == other;
            correct += rightAsOther[i] ? 1 : 0;
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, java.util.Comparator.comparingDouble(i -> threshold[i]));
        double best = 0;
        int bestCorrect = -1;
        for (int k = 0; k <= n; k++) { // the bias just above the k smallest thresholds: those rows go to c
            if (k > 0) {
                int i = order[k - 1];
                correct += (rightAsC[i] ? 1 : 0) - (rightAsOther[i] ? 1 : 0);
            }
            double lo = k == 0 ? Double.NEGATIVE_INFINITY : threshold[order[k - 1]];
            double hi = k == n ? Double.POSITIVE_INFINITY : threshold[order[k]];
            if (hi < 0 || hi == lo) {
                continue; // the biases (lo, hi] that send exactly these rows to c: none >= 0, or none at all
            }
            double b = lo < 0 ? 0 : Double.isInfinite(hi) ? lo + 1 : (lo + hi) / 2;
            if (correct > bestCorrect) {
                bestCorrect = correct;
                best = b;
            }
        }
        return best;
    }

    /** logits / t + bias, as new float rows (bias may be null). */
    public static float[][] apply(float[][] logits, double t, double[] bias) {
        float[][] out = new float[logits.length][];
        for (int i = 0; i < logits.length; i++) {
            double[] a = adjusted(logits[i], t, bias);
            out[i] = new float[a.length];
            for (int c = 0; c < a.length; c++) {
                out[i][c] = (float) a[c];
            }
        }
        return out;
    }

    private static double[] adjusted(float[] z, double t, double[] bias) {
        double[] a = new double[z.length];
        for (int c = 0; c < z.length; c++) {
            a[c] = z[c] / t + (bias == null ? 0 : bias[c]);
        }
        return a;
    }

    static double logSumExp(double[] a) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : a) {
            max = Math.max(max, v);
        }
        double s = 0;
        for (double v : a) {
            s += Math.exp(v - max);
        }
        return max + Math.log(s);
    }

    static double[] softmax(double[] a) {
        double lse = logSumExp(a);
        double[] p = new double[a.length];
        for (int c = 0; c < a.length; c++) {
            p[c] = Math.exp(a[c] - lse);
        }
        return p;
    }
}
