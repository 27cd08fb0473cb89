package org.distillery.model.loss;

import java.util.Arrays;
import java.util.Objects;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Token-level distillation for language models: {@link DistillationLoss} at every scored token, averaged over the
 * scored tokens of the minibatch,
 *
 * <pre>
 *   L = sum_i m_i l_i / sum_i m_i,   l_i = alpha * T^2 * D(p_i, softmax(z_i / T)) + (1 - alpha) * CE(y_i, softmax(z_i))
 * </pre>
 *
 * where i runs over the minibatch's (window, position) pairs, z_i are the student's next-token logits, p_i the
 * teacher's softened distribution, y_i the one-hot next token and m_i the labels mask (0 at burn-in and padding:
 * those tokens contribute nothing, whatever their logits or labels). Hinton, Vinyals and Dean (2015) per token with
 * forward KL (white-box "word-level" KD); {@link Divergence#REVERSE_KL} here is <em>off-policy token-level reverse
 * KL</em>: KL(q || p) at each position of the transfer text the teacher labelled, not MiniLLM's method (Gu et al.
 * 2024), which minimises a sequence-level reverse KL by policy gradient over the student's own samples;
 * {@link Divergence#JENSEN_SHANNON} is GKD's generalised JSD at beta = 1/2 (Agarwal et al. 2024), here off-policy too.
 *
 * <p>On an {@code RnnOutputLayer} DL4J hands a loss its 3-D arrays as rows, one per (window, position), time-major
 * (row t * N + n): labels [N, 2V, T] as [N*T, 2V] in {@link TargetLayout}'s layout, logits [N, V, T] as [N*T, V],
 * the labels mask [N, T] as [N*T, 1]. Per-token scores and gradients are {@link DistillationLoss}'s own (so the same code is gradient-checked in
 * both settings); this class only divides by sum(m). Because the score is already a mean, the network must not divide
 * by the minibatch size again: it is built with {@code miniBatch(false)}, as
 * {@link org.distillery.model.nn.LstmArchitecture#build} does. {@link #computeScore} is the token mean whatever its
 * {@code average} flag says; {@link #computeScoreArray} gives the unnormalised masked per-token losses m_i l_i,
 * [N*T, 1] (DL4J sums them per window in {@code computeScoreForExamples}). A minibatch with no scored token scores 0.
 */
public final class TokenDistillationLoss implements ILossFunction {
    private static final long serialVersionUID = 1L;
    private final DistillationLoss perToken;

    /** Forward KL, as in Hinton et al. 2015. */
    public TokenDistillationLoss(double temperature, double alpha) {
        this(temperature, alpha, Divergence.FORWARD_KL);
    }

    /** @param divergence the soft term's divergence; null means {@link Divergence#FORWARD_KL} */
    @JsonCreator
    public TokenDistillationLoss(@JsonProperty("temperature") double temperature, @JsonProperty("alpha") double alpha,
                                 @JsonProperty("divergence") Divergence divergence) {
        this.perToken = new DistillationLoss(temperature, alpha, divergence);
    }

    /** Next-token cross-entropy on hard targets, in the same label layout: teachers and baseline students. */
    public static TokenDistillationLoss hardLabelsOnly() {
        return new TokenDistillationLoss(1.0, 0.0);
    }

    public double getTemperature() {
        return perToken.getTemperature();
    }

    public double getAlpha() {
        return perToken.getAlpha();
    }

    public Divergence getDivergence() {
        return perToken.getDivergence();
    }

    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        return perToken.computeScoreArray(labels, preOutput, activationFn, checked(mask, preOutput));
    }

    @Override
    public double computeScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask,
                               boolean average) {
        double tokens = tokens(checked(mask, preOutput), preOutput);
        return tokens == 0 ? 0 : perToken.computeScore(labels, preOutput, activationFn, mask, false) / tokens;
    }

    @Override
    public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        double tokens = tokens(checked(mask, preOutput), preOutput);
        INDArray grad = perToken.computeGradient(labels, preOutput, activationFn, mask);
        return tokens == 0 ? grad.assign(0) : grad.divi(tokens);
    }

    @Override
    public Pair<Double, INDArray> computeGradientAndScore(INDArray labels, INDArray preOutput, IActivation activationFn,
                                                          INDArray mask, boolean average) {
        return new Pair<>(computeScore(labels, preOutput, activationFn, mask, average),
                computeGradient(labels, preOutput, activationFn, mask));
    }

    /** sum(m): the scored tokens (rows) of the minibatch, all of them without a mask. */
    private static double tokens(INDArray mask, INDArray preOutput) {
        return mask == null ? preOutput.size(0) : mask.sumNumber().doubleValue();
    }

    /** A mask must hold one value per token (row); per-logit masks are not a thing for next-token prediction. */
    private static INDArray checked(INDArray mask, INDArray preOutput) {
        if (mask != null && mask.length() != preOutput.size(0)) {
            throw new IllegalArgumentException("token mask must have one value per token (" + preOutput.size(0)
                    + "), got shape " + Arrays.toString(mask.shape()));
        }
        return mask;
    }

    @Override
    public String name() {
        return "TokenDistillationLoss(T=" + getTemperature() + ", alpha=" + getAlpha() + ", divergence="
                + getDivergence().id() + ")";
    }

    @Override
    public String toString() {
        return name();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenDistillationLoss other && perToken.equals(other.perToken);
    }

    @Override
    public int hashCode() {
        return Objects.hash(TokenDistillationLoss.class, perToken);
    }
}
