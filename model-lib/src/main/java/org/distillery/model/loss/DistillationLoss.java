package org.distillery.model.loss;

import java.util.Objects;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
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
 *   L = alpha * T^2 * KL(p || softmax(z / T))  +  (1 - alpha) * h * CE(y, softmax(z))
 * </pre>
 *
 * where z are the student's logits (the layer activation, normally identity), p the teacher's distribution already
 * softened at temperature T, y a one-hot hard label and h = sum(y) in {0, 1}. A row without a hard label carries
 * y = 0, so its hard term vanishes: a mask, not a fake label. The T^2 factor keeps the soft gradient's magnitude
 * independent of T (Hinton et al., section 2).
 *
 * <p>Labels are laid out by {@link TargetLayout}: {@code [p (C columns) | y (C columns)]}. Gradients are per example
 * (not divided by the batch size), as DL4J expects; {@code computeScore(average = true)} divides.
 */
public final class DistillationLoss implements ILossFunction {
    private static final long serialVersionUID = 1L;
    /** Floor inside log(p) so that 0 * log 0 = 0 for teacher probabilities that underflowed. */
    private static final double LOG_FLOOR = 1e-30;

    private final double temperature;
    private final double alpha;

    @JsonCreator
    public DistillationLoss(@JsonProperty("temperature") double temperature, @JsonProperty("alpha") double alpha) {
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        }
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
        }
        this.temperature = temperature;
        this.alpha = alpha;
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

    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        Terms t = terms(labels, preOutput, activationFn);
        INDArray score = t.softScore().muli(alpha).addi(t.hardScore().muli(1 - alpha));
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
        int c = TargetLayout.classes(labels, preOutput);
        INDArray z = activationFn.getActivation(preOutput.dup(), true);
        INDArray p = labels.get(NDArrayIndex.all(), NDArrayIndex.interval(0, c)).castTo(z.dataType());
        INDArray y = labels.get(NDArrayIndex.all(), NDArrayIndex.interval(c, 2 * c)).castTo(z.dataType());
        // d/dz [T^2 KL(p || softmax(z/T))] = T * (q * sum(p) - p);  d/dz [CE(y, softmax(z))] = s * sum(y) - y
        INDArray q = Transforms.exp(logSoftmax(z, temperature), false);
        INDArray soft = q.mulColumnVector(p.sum(true, 1)).subi(p).muli(temperature);
        INDArray s = Transforms.exp(logSoftmax(z, 1.0), false);
        INDArray hard = s.mulColumnVector(y.sum(true, 1)).subi(y);
        INDArray dLdz = soft.muli(alpha).addi(hard.muli(1 - alpha));
        INDArray grad = activationFn.backprop(preOutput.dup(), dLdz).getFirst();
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

    private Terms terms(INDArray labels, INDArray preOutput, IActivation activationFn) {
        int c = TargetLayout.classes(labels, preOutput);
        INDArray z = activationFn.getActivation(preOutput.dup(), true);
        INDArray p = labels.get(NDArrayIndex.all(), NDArrayIndex.interval(0, c)).castTo(z.dataType());
        INDArray y = labels.get(NDArrayIndex.all(), NDArrayIndex.interval(c, 2 * c)).castTo(z.dataType());
        INDArray logP = Transforms.log(Transforms.max(p, LOG_FLOOR, true), false);
        INDArray kl = p.mul(logP.subi(logSoftmax(z, temperature))).sum(true, 1).muli(temperature * temperature);
        INDArray ce = y.mul(logSoftmax(z, 1.0)).sum(true, 1).negi();
        return new Terms(kl, ce);
    }

    /** log softmax(z / t), row-wise, shifted by the row maximum for stability. */
    static INDArray logSoftmax(INDArray z, double t) {
        INDArray scaled = z.div(t);
        INDArray shifted = scaled.subColumnVector(scaled.max(true, 1));
        INDArray logSumExp = Transforms.log(Transforms.exp(shifted, true).sum(true, 1), false);
        return shifted.subiColumnVector(logSumExp);
    }

    private record Terms(INDArray softScore, INDArray hardScore) {
    }

    @Override
    public String name() {
        return "DistillationLoss(T=" + temperature + ", alpha=" + alpha + ")";
    }

    @Override
    public String toString() {
        return name();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DistillationLoss other
                && Double.compare(temperature, other.temperature) == 0 && Double.compare(alpha, other.alpha) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(temperature, alpha);
    }
}
