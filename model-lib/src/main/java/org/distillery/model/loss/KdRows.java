package org.distillery.model.loss;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link DistillationLoss}'s score and gradient for identity-activated logits, row by row in plain Java (double
 * precision). The same maths as its ND4J formulation, which takes some forty small native operations per call: on a
 * 64 x 10 minibatch that cost ~0.9 ms per training step, more than the student's matrix products, where this loop
 * takes microseconds. {@code DistillationLossTest} checks the two agree for every divergence, with masks and with rows
 * that lack a teacher or a hard label.
 */
final class KdRows {
    private final double t;
    private final double alpha;
    private final Divergence divergence;
    private final double logFloor;

    KdRows(double temperature, double alpha, Divergence divergence, double logFloor) {
        this.t = temperature;
        this.alpha = alpha;
        this.divergence = divergence;
        this.logFloor = logFloor;
    }

    /** Whether a per-example mask of this shape applies (null, or one value per row). */
    static boolean rowMask(INDArray mask, long rows) {
        return mask == null || mask.length() == rows;
    }

    /** Per-row scores, [N, 1], of preOutput's dtype. */
    INDArray scoreArray(INDArray labels, INDArray preOutput, INDArray mask) {
        double[] scores = run(labels, preOutput, mask, null);
        return create(scores, new long[] {scores.length, 1}, preOutput.dataType());
    }

    /** The sum of the per-row scores. */
    double scoreSum(INDArray labels, INDArray preOutput, INDArray mask) {
        double sum = 0;
        for (double s : run(labels, preOutput, mask, null)) {
            sum += s;
        }
        return sum;
    }

    /** dL/dz per example, [N, C], of preOutput's dtype. */
    INDArray gradient(INDArray labels, INDArray preOutput, INDArray mask) {
        int n = (int) preOutput.size(0);
        int c = (int) preOutput.size(1);
        double[] grad = new double[n * c];
        run(labels, preOutput, mask, grad);
        return create(grad, new long[] {n, c}, preOutput.dataType());
    }

    /** dL/dz per example, [N, C], of preOutput's dtype, and the sum of the per-row scores, from one pass. */
    org.nd4j.common.primitives.Pair<Double, INDArray> gradientAndScoreSum(INDArray labels, INDArray preOutput,
                                                                          INDArray mask) {
        int n = (int) preOutput.size(0);
        int c = (int) preOutput.size(1);
        double[] grad = new double[n * c];
        double sum = 0;
        for (double s : run(labels, preOutput, mask, grad)) {
            sum += s;
        }
        return new org.nd4j.common.primitives.Pair<>(sum, create(grad, new long[] {n, c}, preOutput.dataType()));
    }

    /** Scores per row; fills {@code grad} (row-major [N, C]) when it is not null. */
    private double[] run(INDArray labels, INDArray preOutput, INDArray mask, double[] grad) {
        int c = TargetLayout.classes(labels, preOutput);
        int n = (int) preOutput.size(0);
        double[] z = values(preOutput);
        double[] l = values(labels);
        double[] m = mask == null ? null : values(mask);
        double[] scores = new double[n];
        double[] logQ = new double[c];
        double[] logS = new double[c];
        double[] dsoft = new double[c];
        for (int i = 0; i < n; i++) {
            int zi = i * c;
            int pi = i * 2 * c;
            int yi = pi + c;
            logSoftmax(z, zi, c, t, logQ);
            logSoftmax(z, zi, c, 1.0, logS);
            double pSum = 0;
            double ySum = 0;
            double hard = 0;
            for (int k = 0; k < c; k++) {
                pSum += l[pi + k];
                ySum += l[yi + k];
                hard -= l[yi + k] * logS[k];
            }
            double teacher = pSum > 0 ? 1 : 0;
            double soft = teacher * t * t * softTerm(l, pi, logQ, c, dsoft, pSum);
            double w = m == null ? 1 : m[i];
            scores[i] = w * (alpha * soft + (1 - alpha) * hard);
            if (grad != null) {
                for (int k = 0; k < c; k++) {
                    double hardGrad = Math.exp(logS[k]) * ySum - l[yi + k];
                    grad[zi + k] = w * (alpha * teacher * dsoft[k] + (1 - alpha) * hardGrad);
                }
            }
        }
        return scores;
    }

    /** D(p, q) of one row; writes d/dz [T^2 D] into {@code dsoft}. */
    private double softTerm(double[] l, int pi, double[] logQ, int c, double[] dsoft, double pSum) {
        double d = 0;
        double qg = 0;
        for (int k = 0; k < c; k++) {
            double p = l[pi + k];
            double q = Math.exp(logQ[k]);
            double logP = floorLog(p);
            double g;
            switch (divergence) {
                case FORWARD_KL -> {
                    d += p * (logP - logQ[k]);
                    g = 0;
                    dsoft[k] = t * (q * pSum - p);
                }
                case REVERSE_KL -> {
                    d += q * (logQ[k] - logP);
                    g = logQ[k] - logP;
                }
                case JENSEN_SHANNON -> {
                    double logM = floorLog((p + q) * 0.5);
                    d += 0.5 * (p * (logP - logM) + q * (logQ[k] - logM));
                    g = 0.5 * (logQ[k] - logM);
                }
                default -> throw new IllegalStateException("unknown divergence " + divergence);
            }
            if (divergence != Divergence.FORWARD_KL) {
                dsoft[k] = g; // dD/dq, turned into dD/dz below
                qg += q * g;
            }
        }
        if (divergence != Divergence.FORWARD_KL) {
            // the softmax Jacobian at temperature T: dD/dz_k = (1/T) q_k (g_k - sum_j q_j g_j); times T^2
            for (int k = 0; k < c; k++) {
                dsoft[k] = Math.exp(logQ[k]) * (dsoft[k] - qg) * t;
            }
        }
        return d;
    }

    private double floorLog(double x) {
        return Math.log(Math.max(x, logFloor));
    }

    /** log softmax(z[from..from+c) / t) into out, shifted by the row maximum. */
    static void logSoftmax(double[] z, int from, int c, double t, double[] out) {
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < c; k++) {
            out[k] = z[from + k] / t;
            max = Math.max(max, out[k]);
        }
        double sum = 0;
        for (int k = 0; k < c; k++) {
            out[k] -= max;
            sum += Math.exp(out[k]);
        }
        double log = Math.log(sum);
        for (int k = 0; k < c; k++) {
            out[k] -= log;
        }
    }

    /** The array's values in row-major order (one copy; a view or column-major array is laid out first). */
    static double[] values(INDArray a) {
        INDArray c = a.ordering() == 'c' && !a.isView() && a.data().length() == a.length() ? a : a.dup('c');
        return c.data().asDouble();
    }

    static INDArray create(double[] values, long[] shape, DataType type) {
        if (type == DataType.DOUBLE) {
            return Nd4j.create(values, shape, 'c');
        }
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        INDArray out = Nd4j.create(f, shape, 'c');
        return type == DataType.FLOAT ? out : out.castTo(type);
    }
}
