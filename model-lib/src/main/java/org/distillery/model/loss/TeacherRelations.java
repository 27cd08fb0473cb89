package org.distillery.model.loss;

/**
 * The teacher's side of each {@link Relation}, from the Gram matrix G = t t^T of a minibatch's teacher rows alone (so
 * its cost does not grow with the teacher layer's width): squared distances are G_ii + G_jj - 2 G_ij and the dot
 * product of x_i - x_j and x_k - x_j is G_ik - G_ij - G_jk + G_jj. Each matches the student side's definition in
 * {@link Relation}, floors included.
 */
final class TeacherRelations {
    private static final double EPS = 1e-12;

    private TeacherRelations() {
    }

    /** Pairwise distances divided by their mean over pairs i != j; the diagonal is 0. */
    static double[][] distances(double[][] g) {
        int n = g.length;
        double[][] d = new double[n][n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (i != j) {
                    d[i][j] = Math.sqrt(Math.max(g[i][i] + g[j][j] - 2 * g[i][j], EPS));
                    sum += d[i][j];
                }
            }
        }
        double mean = sum / ((double) n * (n - 1));
        for (double[] row : d) {
            for (int j = 0; j < n; j++) {
                row[j] /= mean;
            }
        }
        return d;
    }

    /** Flat [N, N, N], entry (j, i, k): the cosine of the angle at x_j between x_i - x_j and x_k - x_j (0 if i or k = j). */
    static double[] angles(double[][] g) {
        int n = g.length;
        double[][] norm = new double[n][n];
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < n; i++) {
                norm[j][i] = Math.sqrt(Math.max(g[i][i] + g[j][j] - 2 * g[i][j], EPS));
            }
        }
        double[] a = new double[n * n * n];
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < n; i++) {
                if (i == j) {
                    continue;
                }
                for (int k = 0; k < n; k++) {
                    if (k != j) {
                        double dot = g[i][k] - g[i][j] - g[j][k] + g[j][j];
                        a[(j * n + i) * n + k] = dot / (norm[j][i] * norm[j][k]);
                    }
                }
            }
        }
        return a;
    }

    /** G with each row divided by its L2 norm. */
    static double[][] rowNormalised(double[][] g) {
        int n = g.length;
        double[][] out = new double[n][n];
        for (int i = 0; i < n; i++) {
            double sq = 0;
            for (int j = 0; j < n; j++) {
                sq += g[i][j] * g[i][j];
            }
            double norm = Math.sqrt(Math.max(sq, EPS));
            for (int j = 0; j < n; j++) {
                out[i][j] = g[i][j] / norm;
            }
        }
        return out;
    }
}
