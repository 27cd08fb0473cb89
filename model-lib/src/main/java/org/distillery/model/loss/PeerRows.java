package org.distillery.model.loss;

import org.nd4j.linalg.api.ndarray.INDArray;

/** {@link MutualLoss}'s per-student scores and gradients, row by row in plain Java (double precision). */
final class PeerRows {
    private final int peers;
    private final double t;
    private final double alpha;
    private final double logFloor;
    private final int classes;
    private final int n;
    private final double[] z;
    private final double[] labels;
    private final double[] mask;

    PeerRows(int peers, double temperature, double alpha, double logFloor, INDArray labels, INDArray z,
             INDArray mask) {
        long width = z.size(1);
        if (width % peers != 0 || labels.size(1) != 2 * (width / peers) || labels.size(0) != z.size(0)) {
            throw new IllegalArgumentException("mutual learning of " + peers + " peers needs an output of [N, K*C] and"
                    + " labels of [N, 2C], got output " + java.util.Arrays.toString(z.shape()) + " and labels "
                    + java.util.Arrays.toString(labels.shape()));
        }
        if (!KdRows.rowMask(mask, z.size(0))) {
            throw new IllegalArgumentException("mutual learning takes one mask value per row, got a mask of shape "
                    + java.util.Arrays.toString(mask.shape()));
        }
        this.peers = peers;
        this.t = temperature;
        this.alpha = alpha;
        this.logFloor = logFloor;
        this.classes = (int) (width / peers);
        this.n = (int) z.size(0);
        this.z = KdRows.values(z);
        this.labels = KdRows.values(labels);
        this.mask = mask == null ? null : KdRows.values(mask);
    }

    /** Fills {@code scores} ([N][K], L_k per row) and {@code grad} (row-major [N, K*C]) when they are not null. */
    void run(double[][] scores, double[] grad) {
        int c = classes;
        int width = peers * c;
        double[][] logQ = new double[peers][c];
        double[][] logS = new double[peers][c];
        double[] qSum = new double[c];
        double[] pbar = new double[c];
        for (int i = 0; i < n; i++) {
            java.util.Arrays.fill(qSum, 0);
            for (int k = 0; k < peers; k++) {
                KdRows.logSoftmax(z, i * width + k * c, c, t, logQ[k]);
                KdRows.logSoftmax(z, i * width + k * c, c, 1.0, logS[k]);
                for (int j = 0; j < c; j++) {
                    qSum[j] += Math.exp(logQ[k][j]);
                }
            }
            int yi = i * 2 * c + c;
            double h = 0;
            for (int j = 0; j < c; j++) {
                h += labels[yi + j];
            }
            double w = mask == null ? 1 : mask[i];
            for (int k = 0; k < peers; k++) {
                double kl = 0;
                double ce = 0;
                for (int j = 0; j < c; j++) {
                    double q = Math.exp(logQ[k][j]);
                    pbar[j] = (qSum[j] - q) / (peers - 1);
                    kl += pbar[j] * (Math.log(Math.max(pbar[j], logFloor)) - logQ[k][j]);
                    ce -= labels[yi + j] * logS[k][j];
                    if (grad != null) {
                        double hard = Math.exp(logS[k][j]) * h - labels[yi + j];
                        grad[i * width + k * c + j] = w * (alpha * t * (q - pbar[j]) + (1 - alpha) * hard);
                    }
                }
                if (scores != null) {
                    scores[i][k] = w * (alpha * t * t * kl + (1 - alpha) * ce);
                }
            }
        }
    }
}
