package org.distillery.model.loss;

import java.util.Objects;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Knowledge-distillation loss of Hinton, Vinyals and Dean (2015), "Distilling the Knowledge in a Neural Network":
 *
 * <pre>
 *   L = alpha * T^2 * D(p, softmax(z / T))  +  (1 - alpha) * h * CE(y, softmax(z))
 * </pre>
 *
 * where z are the student's logits (the layer activation, normally identity), p the teacher's distribution already
 * softened at temperature T, y a one-hot hard label and h = sum(y) in {0, 1}. A row without a hard label carries
 * y = 0, so its hard term vanishes: a mask, not a fake label; likewise a row without a teacher (p = 0) has no soft
 * term. D is a {@link Divergence}: KL(p || q) by default (Hinton et al.), or reverse KL or Jensen-Shannon. The T^2
 * factor keeps the soft gradient's magnitude independent of T (Hinton et al., section 2): every D's gradient wrt z
 * carries a 1/T from the softmax, so T^2 * D's is of order T.
 *
 * <p>Labels are laid out by {@link TargetLayout}: {@code [p (C columns) | y (C columns)]}. Gradients are per example
 * (not divided by the batch size), as DL4J expects; {@code computeScore(average = true)} divides.
 */
public final class DistillationLoss implements ILossFunction {
    private static final long serialVersionUID = 1L;
    /**
     * Floor inside log p (and log m for JS) so that teacher probabilities of 0 stay finite: 0 log 0 = 0 in forward KL
     * and JS, log p = -69.1 in reverse KL (see {@link Divergence}).
     */
    private static final double LOG_FLOOR = 1e-30;

    private final double temperature;
    private final double alpha;
    private final Divergence divergence;

    /** Forward KL, as in Hinton et al. 2015. */
    public DistillationLoss(double temperature, double alpha) {
        this(temperature, alpha, Divergence.FORWARD_KL);
    }

    /**
     * @param divergence the soft term's divergence; null (a configuration saved before divergences existed, which has
     *                   no such field: Jackson passes null, its {@code defaultValue} being documentation only) means
     *                   {@link Divergence#FORWARD_KL}
     */
    @JsonCreator
    public DistillationLoss(@JsonProperty("temperature") double temperature, @JsonProperty("alpha") double alpha,
                            @JsonProperty(value = "divergence", defaultValue = "forward") Divergence divergence) {
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        }
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
        }
        this.temperature = temperature;
        this.alpha = alpha;
        this.divergence = divergence == null ? Divergence.FORWARD_KL : divergence;
    }

    /** Plain cross-entropy on hard labels, in the same label layout: the baseline and pseudo-label objective. */
    public static DistillationLoss hardLabelsOnly() {
        return new DistillationLoss(1.0, 0.0);
    }

    public double getTemperature() {
        return temperature;
    }

    public double getAlpha() {
        return alpha;
    }

    public Divergence getDivergence() {
        return divergence;
    }

    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        if (inJava(activationFn, preOutput, mask)) {
            return rows().scoreArray(labels, preOutput, mask);
        }
        Parts t = parts(labels, preOutput, activationFn);
        INDArray score = softScore(t).muli(alpha).addi(t.y().mul(t.logS()).sum(true, 1).negi().muli(1 - alpha));
        return mask == null ? score : score.muli(mask.reshape(score.shape()).castTo(score.dataType()));
    }

    @Override
    public double computeScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask,
                               boolean average) {
        double sum = inJava(activationFn, preOutput, mask) ? rows().scoreSum(labels, preOutput, mask)
                : computeScoreArray(labels, preOutput, activationFn, mask).sumNumber().doubleValue();
        return average ? sum / preOutput.size(0) : sum;
    }

    @Override
    public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        if (inJava(activationFn, preOutput, mask)) {
            return rows().gradient(labels, preOutput, mask);
        }
        Parts t = parts(labels, preOutput, activationFn);
        // d/dz [CE(y, softmax(z))] = s * sum(y) - y
        INDArray hard = Transforms.exp(t.logS(), true).muliColumnVector(t.y().sum(true, 1)).subi(t.y());
        INDArray dLdz = softGradient(t).muli(alpha).addi(hard.muli(1 - alpha));
        INDArray grad = activationFn.backprop(preOutput.dup(), dLdz).getFirst();
        if (mask != null) {
            grad.muliColumnVector(mask.reshape(mask.size(0), 1).castTo(grad.dataType()));
        }
        return grad;
    }

    @Override
    public Pair<Double, INDArray> computeGradientAndScore(INDArray labels, INDArray preOutput, IActivation activationFn,
                                                          INDArray mask, boolean average) {
        if (inJava(activationFn, preOutput, mask)) { // one row pass for both; the same sums as the two calls
            Pair<Double, INDArray> both = rows().gradientAndScoreSum(labels, preOutput, mask);
            return average ? new Pair<>(both.getFirst() / preOutput.size(0), both.getSecond()) : both;
        }
        return new Pair<>(computeScore(labels, preOutput, activationFn, mask, average),
                computeGradient(labels, preOutput, activationFn, mask));
    }

    /**
     * Identity-activated logits (every distillery student) with at most one mask value per row take the plain-Java
     * row loop ({@link KdRows}); anything else, the ND4J formulation below.
     */
    private static boolean inJava(IActivation activationFn, INDArray preOutput, INDArray mask) {
        return activationFn.getClass() == ActivationIdentity.class && preOutput.rank() == 2
                && KdRows.rowMask(mask, preOutput.size(0));
    }

    private KdRows rows() {
        return new KdRows(temperature, alpha, divergence, LOG_FLOOR);
    }

    /** T^2 D(p, q) per row, [N, 1]. */
    private INDArray softScore(Parts t) {
        INDArray p = t.p();
        INDArray logP = floorLog(p);
        INDArray d = switch (divergence) {
            case FORWARD_KL -> p.mul(logP.subi(t.logQ()));
            case REVERSE_KL -> t.q().mul(t.logQ().sub(logP));
            case JENSEN_SHANNON -> {
                INDArray logM = floorLog(p.add(t.q()).muli(0.5));
                yield p.mul(logP.subi(logM)).addi(t.q().mul(t.logQ().sub(logM))).muli(0.5);
            }
        };
        return d.sum(true, 1).muli(temperature * temperature).muli(t.teacherRows());
    }

    /** d/dz [T^2 D(p, softmax(z / T))], [N, C]. */
    private INDArray softGradient(Parts t) {
        INDArray p = t.p();
        INDArray q = t.q();
        if (divergence == Divergence.FORWARD_KL) {
            // T * (q * sum(p) - p)
            return q.mulColumnVector(p.sum(true, 1)).subi(p).muli(temperature);
        }
        // g = dD/dq: reverse, log q - log p (+1, cancelled below); JS, 1/2 log(q / m), the terms through m cancelling.
        INDArray g = divergence == Divergence.REVERSE_KL ? t.logQ().sub(floorLog(p))
                : t.logQ().sub(floorLog(p.add(q).muli(0.5))).muli(0.5);
        // Softmax Jacobian at temperature T: dD/dz_k = (1/T) q_k (g_k - sum_j q_j g_j); times T^2.
        return q.mul(g.subiColumnVector(q.mul(g).sum(true, 1))).muli(temperature).muliColumnVector(t.teacherRows());
    }

    private static INDArray floorLog(INDArray x) {
        return Transforms.log(Transforms.max(x, LOG_FLOOR, true), false);
    }

    private Parts parts(INDArray labels, INDArray preOutput, IActivation activationFn) {
        int c = TargetLayout.classes(labels, preOutput);
        INDArray z = activationFn.getActivation(preOutput.dup(), true);
        INDArray p = labels.get(NDArrayIndex.all(), NDArrayIndex.interval(0, c)).castTo(z.dataType());
        INDArray y = labels.get(NDArrayIndex.all(), NDArrayIndex.interval(c, 2 * c)).castTo(z.dataType());
        INDArray logQ = logSoftmax(z, temperature);
        INDArray teacherRows = p.sum(true, 1).gt(0).castTo(z.dataType());
        return new Parts(p, y, logQ, Transforms.exp(logQ, true), logSoftmax(z, 1.0), teacherRows);
    }

    /** log softmax(z / t), row-wise, shifted by the row maximum for stability. */
    static INDArray logSoftmax(INDArray z, double t) {
        INDArray scaled = z.div(t);
        INDArray shifted = scaled.subColumnVector(scaled.max(true, 1));
        INDArray logSumExp = Transforms.log(Transforms.exp(shifted, true).sum(true, 1), false);
        return shifted.subiColumnVector(logSumExp);
    }

    /** Teacher p, hard labels y, q = softmax(z / T) and its log, log softmax(z), and 1 for rows with a teacher. */
    private record Parts(INDArray p, INDArray y, INDArray logQ, INDArray q, INDArray logS, INDArray teacherRows) {
    }

    @Override
    public String name() {
        return "DistillationLoss(T=" + temperature + ", alpha=" + alpha + ", divergence=" + divergence.id() + ")";
    }

    @Override
    public String toString() {
        return name();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DistillationLoss other
                && Double.compare(temperature, other.temperature) == 0 && Double.compare(alpha, other.alpha) == 0
                && divergence == other.divergence;
    }

    @Override
    public int hashCode() {
        return Objects.hash(temperature, alpha, divergence.id());
    }
}
