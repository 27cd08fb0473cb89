package org.distillery.model.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Relation losses against a plain-Java reference written from the papers' definitions, and their SameDiff gradients. */
class RelationTest {
    private static final Relation[] LOSSES = {Relation.RKD_DISTANCE, Relation.RKD_ANGLE, Relation.RKD,
        Relation.SIMILARITY};

    private static INDArray rows(long seed, int n, int d) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.DOUBLE, n, d);
    }

    @Test
    void matchesAReferenceImplementation() {
        INDArray s = rows(3, 6, 4);
        INDArray t = rows(5, 6, 7); // the teacher's embedding may be wider than the student's
        double[][] sa = s.toDoubleMatrix();
        double[][] ta = t.toDoubleMatrix();
        assertThat(Relation.RKD_DISTANCE.loss(s, t)).isCloseTo(distance(sa, ta), within(1e-9));
        assertThat(Relation.RKD_ANGLE.loss(s, t)).isCloseTo(angle(sa, ta), within(1e-9));
        assertThat(Relation.RKD.loss(s, t)).isCloseTo(distance(sa, ta) + 2 * angle(sa, ta), within(1e-9));
        assertThat(Relation.SIMILARITY.loss(s, t)).isCloseTo(similarity(sa, ta), within(1e-9));
        assertThat(Relation.NONE.loss(s, t)).isZero();
        assertThat(distance(sa, ta)).isGreaterThan(0.01); // the case is not trivially zero
        assertThat(angle(sa, ta)).isGreaterThan(0.01);
        assertThat(similarity(sa, ta)).isGreaterThan(0.01);
    }

    @Test
    void isZeroWhenTheStudentIsAScaledRotationOfTheTeacher() {
        INDArray t = rows(9, 5, 3);
        // Distances up to scale, angles and cosine similarities are invariant to x -> c x Q for orthogonal Q.
        INDArray q = Nd4j.create(new double[][] {{0, 1, 0}, {-1, 0, 0}, {0, 0, 1}});
        INDArray s = t.mmul(q).muli(3.0);
        assertThat(Relation.RKD_DISTANCE.loss(s, t)).isCloseTo(0, within(1e-12));
        assertThat(Relation.RKD_ANGLE.loss(s, t)).isCloseTo(0, within(1e-12));
        assertThat(Relation.SIMILARITY.loss(s, t)).isCloseTo(0, within(1e-12));
    }

    @Test
    void gradientMatchesCentralDifferences() {
        INDArray s = rows(13, 5, 3);
        INDArray t = rows(17, 5, 6);
        double h = 1e-6;
        for (Relation r : LOSSES) {
            INDArray g = r.gradient(s, t);
            assertThat(g.shape()).containsExactly(5, 3);
            double maxRel = 0;
            for (int i = 0; i < 5; i++) {
                for (int j = 0; j < 3; j++) {
                    double v = s.getDouble(i, j);
                    s.putScalar(i, j, v + h);
                    double up = r.loss(s, t);
                    s.putScalar(i, j, v - h);
                    double down = r.loss(s, t);
                    s.putScalar(i, j, v);
                    double numeric = (up - down) / (2 * h);
                    double analytic = g.getDouble(i, j);
                    assertThat(analytic).as("%s d/ds[%d,%d]", r.id(), i, j).isCloseTo(numeric, within(1e-6));
                    maxRel = Math.max(maxRel, Math.abs(analytic));
                }
            }
            assertThat(maxRel).as("%s has a non-trivial gradient", r.id()).isGreaterThan(1e-3);
        }
    }

    @Test
    void parsesItsIdsAndRefusesOthers() {
        for (Relation r : Relation.values()) {
            assertThat(Relation.parse(r.id())).isSameAs(r);
        }
        assertThatThrownBy(() -> Relation.parse("rdk")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("relation must be one of [none, rkd-distance, rkd-angle, rkd, sp], got 'rdk'");
        assertThatThrownBy(() -> Relation.SIMILARITY.loss(rows(1, 4, 2), rows(1, 3, 2)))
                .hasMessageContaining("as many teacher rows as student rows, got 3 and 4");
    }

    // Reference implementations, straight from the definitions.

    static double distance(double[][] s, double[][] t) {
        double[][] ds = distances(s);
        double[][] dt = distances(t);
        int n = s.length;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                sum += huber(ds[i][j] - dt[i][j]);
            }
        }
        return sum / (n * n);
    }

    private static double[][] distances(double[][] x) {
        int n = x.length;
        double[][] d = new double[n][n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (i != j) {
                    double sq = 0;
                    for (int k = 0; k < x[i].length; k++) {
                        sq += (x[i][k] - x[j][k]) * (x[i][k] - x[j][k]);
                    }
                    d[i][j] = Math.sqrt(sq);
                    total += d[i][j];
                }
            }
        }
        double mean = total / (n * (n - 1));
        for (double[] row : d) {
            for (int j = 0; j < n; j++) {
                row[j] /= mean;
            }
        }
        return d;
    }

    static double angle(double[][] s, double[][] t) {
        int n = s.length;
        double sum = 0;
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < n; k++) {
                    sum += huber(cosine(s, i, j, k) - cosine(t, i, j, k));
                }
            }
        }
        return sum / ((double) n * n * n);
    }

    /** cos of the angle at x_j between x_i - x_j and x_k - x_j; 0 when either vector is 0. */
    private static double cosine(double[][] x, int i, int j, int k) {
        if (i == j || k == j) {
            return 0;
        }
        double dot = 0;
        double ni = 0;
        double nk = 0;
        for (int c = 0; c < x[j].length; c++) {
            double a = x[i][c] - x[j][c];
            double b = x[k][c] - x[j][c];
            dot += a * b;
            ni += a * a;
            nk += b * b;
        }
        return dot / Math.sqrt(ni * nk);
    }

    static double similarity(double[][] s, double[][] t) {
        double[][] gs = normalisedGram(s);
        double[][] gt = normalisedGram(t);
        int n = s.length;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                sum += (gs[i][j] - gt[i][j]) * (gs[i][j] - gt[i][j]);
            }
        }
        return sum / (n * n);
    }

    private static double[][] normalisedGram(double[][] x) {
        int n = x.length;
        double[][] g = new double[n][n];
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int j = 0; j < n; j++) {
                for (int c = 0; c < x[i].length; c++) {
                    g[i][j] += x[i][c] * x[j][c];
                }
                norm += g[i][j] * g[i][j];
            }
            norm = Math.sqrt(norm);
            for (int j = 0; j < n; j++) {
                g[i][j] /= norm;
            }
        }
        return g;
    }

    private static double huber(double d) {
        double a = Math.abs(d);
        return a < 1 ? 0.5 * d * d : a - 0.5;
    }
}
