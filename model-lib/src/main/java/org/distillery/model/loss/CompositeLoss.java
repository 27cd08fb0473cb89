package org.distillery.model.loss;

import java.util.Objects;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Response-based distillation ({@link DistillationLoss}) plus the feature and relation terms, against g, the teacher
 * layer the label job stored per row (its "hint"):
 *
 * <pre>
 *   L = KD(z; p, y)  +  beta * mean_j (r_j - g_j)^2  +  lambda * R(z_batch, g_batch)
 * </pre>
 *
 * <ul>
 *   <li>The hint term is FitNets' (Romero et al. 2015, "FitNets: Hints for Thin Deep Nets"): r is a regressor (an
 *   adaptation layer) from the student's guided layer to g's width. Here the guided layer is the student's last hidden
 *   layer and the regressor is linear, so r is computed by the output layer itself: its output is {@code [z (C) | r
 *   (G)]}, one dense layer with C + G units on the guided layer's activations, exactly a logits head and a linear
 *   regressor side by side. The regressor columns are dropped once training ends ({@code hintWidth} 0 afterwards).
 *   The squared error is averaged over g's G dimensions (FitNets sums half of it: a constant factor in beta).</li>
 *   <li>The relation term R is a {@link Relation} between the rows of the minibatch, of the student's logits z and
 *   the teacher's g (of any width). It is a function of the whole minibatch, not a sum over rows: each row's score
 *   carries R once, so that the average over rows that DL4J reports is R, and the gradient returned is N times R's,
 *   since DL4J divides per-example gradients by the minibatch size N.</li>
 * </ul>
 *
 * <p>Labels are {@code [p (C) | y (C) | g (G)]} ({@link TargetLayout}); the output activation must be the identity.
 */
public final class CompositeLoss implements ILossFunction {
    private static final long serialVersionUID = 1L;
    private final DistillationLoss response;
    private final int teacherWidth;
    private final double hintWeight;
    private final int hintWidth;
    private final Relation relation;
    private final double relationWeight;

    /**
     * @param response       the response-based term on the logits
     * @param teacherWidth   G, the width of the stored teacher layer g at the end of each label row
     * @param hintWeight     beta; with {@code hintWidth} G the output carries G regressor columns after the logits
     * @param hintWidth      G when the output carries the regressor, else 0 (beta then has no effect)
     * @param relation       the relation between minibatch rows to preserve, or {@link Relation#NONE}
     * @param relationWeight lambda
     */
    @JsonCreator
    public CompositeLoss(@JsonProperty("response") DistillationLoss response,
                         @JsonProperty("teacherWidth") int teacherWidth,
                         @JsonProperty("hintWeight") double hintWeight,
                         @JsonProperty("hintWidth") int hintWidth,
                         @JsonProperty("relation") Relation relation,
                         @JsonProperty("relationWeight") double relationWeight) {
        this.response = Objects.requireNonNull(response, "response");
        this.relation = relation == null ? Relation.NONE : relation;
        if (teacherWidth <= 0) {
            throw new IllegalArgumentException("teacher layer width must be > 0, got " + teacherWidth);
        }
        if (hintWidth != 0 && hintWidth != teacherWidth) {
            throw new IllegalArgumentException("the regressor must be as wide as the teacher layer (" + teacherWidth
                    + ") or absent (0), got " + hintWidth);
        }
        if (!(hintWeight >= 0) || Double.isInfinite(hintWeight) || !(relationWeight >= 0)
                || Double.isInfinite(relationWeight)) {
            throw new IllegalArgumentException("hint and relation weights must be finite numbers >= 0, got "
                    + hintWeight + " and " + relationWeight);
        }
        this.teacherWidth = teacherWidth;
        this.hintWeight = hintWeight;
        this.hintWidth = hintWidth;
        this.relationWeight = relationWeight;
    }

    /** The same loss without the regressor columns: what the student keeps once training ends. */
    public CompositeLoss withoutRegressor() {
        return new CompositeLoss(response, teacherWidth, hintWeight, 0, relation, relationWeight);
    }

    public DistillationLoss getResponse() {
        return response;
    }

    public int getTeacherWidth() {
        return teacherWidth;
    }

    public double getHintWeight() {
        return hintWeight;
    }

    public int getHintWidth() {
        return hintWidth;
    }

    public Relation getRelation() {
        return relation;
    }

    public double getRelationWeight() {
        return relationWeight;
    }

    /** The output layer's width for C classes: the logits, then the regressor's columns if any. */
    public int outputWidth(int classes) {
        return classes + hintWidth;
    }

    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        Parts t = parts(labels, preOutput, activationFn);
        INDArray score = response.computeScoreArray(t.kdLabels(), t.z(), activationFn, null);
        if (hintWidth > 0 && hintWeight > 0) {
            INDArray d = t.r().sub(t.g());
            score.addi(d.muli(d).mean(true, 1).muli(hintWeight));
        }
        if (relation != Relation.NONE && relationWeight > 0) {
            score.addi(relationWeight * relation.loss(t.z(), t.g()));
        }
        return mask == null ? score : score.muli(mask.reshape(score.shape()).castTo(score.dataType()));
    }

    @Override
    public double computeScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask,
                               boolean average) {
        double sum = computeScoreArray(labels, preOutput, activationFn, mask).sumNumber().doubleValue();
        return average ? sum / preOutput.size(0) : sum;
    }

    @Override
    public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        Parts t = parts(labels, preOutput, activationFn);
        INDArray grad = preOutput.ulike().assign(0);
        INDArray dz = response.computeGradient(t.kdLabels(), t.z(), activationFn, null);
        if (relation != Relation.NONE && relationWeight > 0) {
            dz.addi(relation.gradient(t.z(), t.g()).muli(relationWeight * preOutput.size(0)));
        }
        grad.get(NDArrayIndex.all(), NDArrayIndex.interval(0, t.classes())).assign(dz);
        if (hintWidth > 0) {
            grad.get(NDArrayIndex.all(), NDArrayIndex.interval(t.classes(), t.classes() + hintWidth))
                    .assign(t.r().sub(t.g()).muli(2.0 * hintWeight / hintWidth));
        }
        if (mask != null) {
            grad.muliColumnVector(mask.reshape(mask.size(0), 1).castTo(grad.dataType()));
        }
        return grad;
    }

    @Override
    public Pair<Double, INDArray> computeGradientAndScore(INDArray labels, INDArray preOutput, IActivation activationFn,
                                                          INDArray mask, boolean average) {
        return new Pair<>(computeScore(labels, preOutput, activationFn, mask, average),
                computeGradient(labels, preOutput, activationFn, mask));
    }

    private Parts parts(INDArray labels, INDArray preOutput, IActivation activationFn) {
        if (!(activationFn instanceof ActivationIdentity)) {
            throw new IllegalArgumentException("CompositeLoss needs an identity output activation, got " + activationFn);
        }
        int c = (int) preOutput.size(1) - hintWidth;
        if (c <= 0 || labels.size(1) != TargetLayout.width(c, teacherWidth) || labels.size(0) != preOutput.size(0)) {
            throw new IllegalArgumentException("composite labels must be [N, 2C + G] = [" + preOutput.size(0) + ", "
                    + TargetLayout.width(Math.max(c, 0), teacherWidth) + "] for an output of "
                    + java.util.Arrays.toString(preOutput.shape()) + " with " + hintWidth + " regressor columns, got "
                    + java.util.Arrays.toString(labels.shape()));
        }
        INDArray z = preOutput.get(NDArrayIndex.all(), NDArrayIndex.interval(0, c));
        INDArray r = hintWidth == 0 ? null : preOutput.get(NDArrayIndex.all(), NDArrayIndex.interval(c, c + hintWidth));
        INDArray kd = labels.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 2 * c));
        INDArray g = labels.get(NDArrayIndex.all(), NDArrayIndex.interval(2 * c, 2 * c + teacherWidth))
                .castTo(preOutput.dataType());
        return new Parts(c, z, r, kd, g);
    }

    private record Parts(int classes, INDArray z, INDArray r, INDArray kdLabels, INDArray g) {
    }

    @Override
    public String name() {
        return "CompositeLoss(" + response.name() + ", teacherWidth=" + teacherWidth + ", hint=" + hintWeight
                + " x " + hintWidth + ", relation=" + relation.id() + " x " + relationWeight + ")";
    }

    @Override
    public String toString() {
        return name();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CompositeLoss other && response.equals(other.response)
                && teacherWidth == other.teacherWidth && hintWidth == other.hintWidth
                && Double.compare(hintWeight, other.hintWeight) == 0 && relation == other.relation
                && Double.compare(relationWeight, other.relationWeight) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(response, teacherWidth, hintWeight, hintWidth, relation.id(), relationWeight);
    }
}
