package org.distillery.model.loss;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonValue;

/**
 * Relation-based distillation: the student matches how the examples of a minibatch relate to each other in the
 * teacher's embedding, not the embedding itself, so the two may have different widths. Each loss is a function of the
 * whole minibatch (student s [N, d], teacher t [N, e]). Its gradient comes from SameDiff's automatic differentiation
 * rather than a hand-written derivative (the angle loss's is easy to get wrong); the graphs are built once per thread
 * and data type, since SameDiff instances are not thread-safe, and run outside DL4J's workspaces (a graph built or run
 * inside a network's workspace keeps arrays that the workspace later overwrites).
 */
public enum Relation {
    /** No relational term. */
    NONE("none"),
    /**
     * RKD distance-wise loss (Park, Kim, Lu and Cho 2019, "Relational Knowledge Distillation"): pairwise Euclidean
     * distances, each divided by the mean distance over pairs i != j, compared with the Huber loss (smooth L1), averaged
     * over all N^2 pairs (the diagonal, 0 for both, included, as in the authors' code).
     */
    RKD_DISTANCE("rkd-distance"),
    /**
     * RKD angle-wise loss (Park et al. 2019): for every triplet (i, j, k) the cosine of the angle at x_j between the
     * unit vectors towards x_i and x_k, compared with the Huber loss, averaged over all N^3 triplets (degenerate ones,
     * with i = j or k = j, are 0 for both).
     */
    RKD_ANGLE("rkd-angle"),
    /** Park et al.'s combination: distance + 2 x angle (their lambda_D = 25, lambda_A = 50). */
    RKD("rkd"),
    /**
     * Similarity-preserving KD (Tung and Mori 2019, "Similarity-Preserving Knowledge Distillation"): the N x N Gram
     * matrices x x^T with each row L2-normalised, compared by the squared Frobenius norm of their difference over N^2.
     */
    SIMILARITY("sp");

    private static final double EPS = 1e-12;
    private static final ThreadLocal<Map<String, SameDiff>> GRAPHS = ThreadLocal.withInitial(HashMap::new);
    private static final ThreadLocal<Last> LAST = new ThreadLocal<>();
    private final String id;

    Relation(String id) {
        this.id = id;
    }

    /** The configuration name, also the JSON form. */
    @JsonValue
    public String id() {
        return id;
    }

    /** The relation named {@code s} (its {@link #id()} or its constant name). */
    @JsonCreator
    public static Relation parse(String s) {
        for (Relation r : values()) {
            if (r.id.equals(s) || r.name().equals(s)) {
                return r;
            }
        }
        throw new IllegalArgumentException("relation must be one of " + Arrays.stream(values()).map(Relation::id).toList()
                + ", got '" + s + "'");
    }

    /** The loss for student rows {@code s} [N, d] and teacher rows {@code t} [N, e] (0 for {@link #NONE}). */
    public double loss(INDArray s, INDArray t) {
        if (this == NONE) {
            return 0;
        }
        Last last = LAST.get();
        if (last != null && last.relation == this && same(last.s, s) && same(last.t, t)) {
            return last.loss; // DL4J asks for the gradient first, then the score of the same minibatch
        }
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return graph(s.dataType()).output(placeholders(s, t), "loss").get("loss").getDouble(0);
        }
    }

    /** d loss / d s, [N, d] (zeros for {@link #NONE}). */
    public INDArray gradient(INDArray s, INDArray t) {
        if (this == NONE) {
            return s.ulike().assign(0);
        }
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            var out = graph(s.dataType()).calculateGradientsAndOutputs(placeholders(s, t), List.of("loss"),
                    List.of("s"));
            LAST.set(new Last(this, s.dup(), t.dup(), out.getOutputs().get("loss").getDouble(0)));
            return out.getGradients().get("s");
        }
    }

    /** Exactly equal (INDArray.equals tolerates 1e-5, which would hide a gradient check's perturbations). */
    private static boolean same(INDArray a, INDArray b) {
        return a.dataType() == b.dataType() && Arrays.equals(a.shape(), b.shape()) && a.equalsWithEps(b, 0.0);
    }

    /** The last loss computed with a gradient on this thread, for the score DL4J asks for right after. */
    private record Last(Relation relation, INDArray s, INDArray t, double loss) {
    }

    /**
     * The student's rows and the teacher's relations. Only the student needs a gradient, so the teacher's side (the
     * wide one: a teacher layer has hundreds of values per row) is computed here, once per minibatch, from its Gram
     * matrix alone, never as an N x N x width tensor.
     */
    private Map<String, INDArray> placeholders(INDArray s, INDArray t) {
        if (s.rank() != 2 || t.rank() != 2) {
            throw new IllegalArgumentException("relation needs rows [N, width], got shapes "
                    + Arrays.toString(s.shape()) + " and " + Arrays.toString(t.shape()));
        }
        if (s.size(0) != t.size(0)) {
            throw new IllegalArgumentException("relation needs as many teacher rows as student rows, got " + t.size(0)
                    + " and " + s.size(0));
        }
        double[][] g = t.castTo(DataType.DOUBLE).mmul(t.castTo(DataType.DOUBLE).transpose()).toDoubleMatrix();
        Map<String, INDArray> m = new HashMap<>();
        // Fresh c-order copies: SameDiff's ops misread strided views (such as a column slice of the output layer's).
        m.put("s", s.dup('c'));
        if (this == RKD_DISTANCE || this == RKD) {
            m.put("tDistance", Nd4j.create(TeacherRelations.distances(g)).castTo(s.dataType()));
        }
        if (this == RKD_ANGLE || this == RKD) {
            m.put("tAngle", Nd4j.create(TeacherRelations.angles(g), new long[] {g.length, g.length, g.length}, 'c')
                    .castTo(s.dataType()));
        }
        if (this == SIMILARITY) {
            m.put("tGram", Nd4j.create(TeacherRelations.rowNormalised(g)).castTo(s.dataType()));
        }
        return m;
    }

    private SameDiff graph(DataType type) {
        return GRAPHS.get().computeIfAbsent(id + "/" + type, k -> {
            SameDiff sd = SameDiff.create();
            SDVariable s = sd.placeHolder("s", type, -1, -1);
            SDVariable loss = switch (this) {
                case RKD_DISTANCE -> distanceLoss(sd, s, sd.placeHolder("tDistance", type, -1, -1));
                case RKD_ANGLE -> angleLoss(sd, s, sd.placeHolder("tAngle", type, -1, -1, -1));
                case RKD -> distanceLoss(sd, s, sd.placeHolder("tDistance", type, -1, -1))
                        .add(angleLoss(sd, s, sd.placeHolder("tAngle", type, -1, -1, -1)).mul(2.0));
                case SIMILARITY -> similarityLoss(sd, s, sd.placeHolder("tGram", type, -1, -1));
                case NONE -> throw new IllegalStateException("no graph for " + this);
            };
            sd.identity("loss", loss).markAsLoss();
            sd.createGradFunction("s");
            return sd;
        });
    }

    private static SDVariable distanceLoss(SameDiff sd, SDVariable s, SDVariable teacherDistances) {
        return huber(sd, normalisedDistances(sd, s), teacherDistances).mean();
    }

    /** Pairwise distances divided by their mean over pairs i != j; the diagonal is exactly 0. */
    private static SDVariable normalisedDistances(SameDiff sd, SDVariable x) {
        SDVariable diff = sd.expandDims(x, 0).sub(sd.expandDims(x, 1));               // [N, N, d]
        SDVariable d2 = diff.mul(diff).sum(false, 2);                                 // [N, N]
        SDVariable ones = sd.zerosLike(d2.sum(false, 1)).add(1.0);                    // [N]
        SDVariable offDiagonal = sd.math.diag(ones).rsub(1.0);
        SDVariable d = sd.math.sqrt(sd.math.max(d2, sd.constant(EPS).castTo(x.dataType()))).mul(offDiagonal);
        SDVariable pairs = offDiagonal.sum();
        return over(sd, d, d.sum().div(pairs));
    }

    private static SDVariable angleLoss(SameDiff sd, SDVariable s, SDVariable teacherAngles) {
        return huber(sd, angles(sd, s), teacherAngles).mean();
    }

    /** [N, N, N]: entry (j, i, k) is the cosine of the angle at x_j between x_i - x_j and x_k - x_j. */
    private static SDVariable angles(SameDiff sd, SDVariable x) {
        SDVariable diff = sd.expandDims(x, 0).sub(sd.expandDims(x, 1));               // [N, N, d]: x_i - x_j at (j, i)
        // The floor goes under the square root, so that sqrt never sees 0 (i = j) and its gradient stays finite.
        SDVariable norm = sd.math.sqrt(sd.math.max(diff.mul(diff).sum(true, 2), sd.constant(EPS).castTo(x.dataType())));
        SDVariable unit = over(sd, diff, norm);
        return sd.mmul(unit, unit, false, true, false);
    }

    private static SDVariable similarityLoss(SameDiff sd, SDVariable s, SDVariable teacherGram) {
        SDVariable diff = rowNormalisedGram(sd, s).sub(teacherGram);
        SDVariable n = sd.sizeAt(s, 0).castTo(s.dataType());
        return over(sd, diff.mul(diff).sum(), n.mul(n));
    }

    private static SDVariable rowNormalisedGram(SameDiff sd, SDVariable x) {
        SDVariable g = sd.mmul(x, x, false, true, false);
        return over(sd, g, sd.math.sqrt(sd.math.max(g.mul(g).sum(true, 1), sd.constant(EPS).castTo(x.dataType()))));
    }

    /**
     * a / b with b broadcast. Not {@code a.div(b)}: SameDiff 1.0.0-M2.1's gradient of a broadcast division is wrong
     * for the divisor (checked against central differences), that of a product with its reciprocal is right.
     */
    private static SDVariable over(SameDiff sd, SDVariable a, SDVariable b) {
        return a.mul(sd.math.reciprocal(b));
    }

    /** Elementwise Huber loss (smooth L1, delta 1): with m = min(|a - b|, 1), 0.5 m^2 + |a - b| - m. */
    private static SDVariable huber(SameDiff sd, SDVariable a, SDVariable b) {
        SDVariable abs = sd.math.abs(a.sub(b));
        SDVariable m = sd.math.min(abs, sd.constant(1.0).castTo(a.dataType()));
        return m.mul(m).mul(0.5).add(abs).sub(m);
    }
}
