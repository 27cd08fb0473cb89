package org.distillery.model.text;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The scored positions of [N, V, T] logit batches as plain float[V] rows, and the log-softmax the metrics share. */
final class ScoredTokens {
    private ScoredTokens() {
    }

    /** What a metric does with one scored position (n, t) and its logits rows, one per batch given. */
    interface Visitor {
        void visit(int n, int t, float[][] rows);
    }

    /**
     * Calls {@code visitor} for every position whose {@code mask} [N, T] value is &gt; 0 (every position when null), in
     * (n, t) order, with that position's row of each of {@code batches} (all [N, V, T] of one shape).
     */
    static void forEach(INDArray mask, Visitor visitor, INDArray... batches) {
        long[] shape = batches[0].shape();
        for (INDArray b : batches) {
            if (b.rank() != 3 || !Arrays.equals(b.shape(), shape)) {
                throw new IllegalArgumentException("logits must be [N, V, T] of one shape, got "
                        + Arrays.toString(b.shape()) + " and " + Arrays.toString(shape));
            }
        }
        int n = (int) shape[0];
        int v = (int) shape[1];
        int t = (int) shape[2];
        if (mask != null && (mask.rank() != 2 || mask.size(0) != n || mask.size(1) != t)) {
            throw new IllegalArgumentException("mask must be [N, T] = [" + n + ", " + t + "], got "
                    + Arrays.toString(mask.shape()));
        }
        float[][] values = new float[batches.length][];
        for (int k = 0; k < batches.length; k++) {
            values[k] = batches[k].dup('c').data().asFloat();
        }
        float[] m = mask == null ? null : mask.dup('c').data().asFloat();
        float[][] rows = new float[batches.length][v];
        for (int i = 0; i < n; i++) {
            for (int s = 0; s < t; s++) {
                if (m != null && !(m[i * t + s] > 0)) {
                    continue;
                }
                for (int k = 0; k < batches.length; k++) {
                    for (int c = 0; c < v; c++) {
                        rows[k][c] = values[k][(i * v + c) * t + s];
                    }
                }
                visitor.visit(i, s, rows);
            }
        }
    }

    /** log softmax(z) in double precision. */
    static double[] logSoftmax(float[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : z) {
            max = Math.max(max, x);
        }
        double sum = 0;
        for (float x : z) {
            sum += Math.exp(x - max);
        }
        double lse = max + Math.log(sum);
        double[] out = new double[z.length];
        for (int c = 0; c < z.length; c++) {
            out[c] = z[c] - lse;
        }
        return out;
    }

    /** Index of the largest value, first on ties. */
    static int argmax(float[] z) {
        int best = 0;
        for (int c = 1; c < z.length; c++) {
            best = z[c] > z[best] ? c : best;
        }
        return best;
    }
}
