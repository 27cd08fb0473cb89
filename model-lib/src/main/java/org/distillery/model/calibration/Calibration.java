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
