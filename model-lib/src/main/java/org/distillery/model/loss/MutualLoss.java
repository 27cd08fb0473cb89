package org.distillery.model.loss;

import java.util.Objects;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Deep mutual learning (Zhang, Xiang, Hospedales and Lu 2018, "Deep Mutual Learning"): K students learn together, each
 * pulled towards the others' softened predictions. The output holds the K students' logits side by side,
 * {@code [z_1 (C) | ... | z_K (C)]}, and the loss is the sum of the students' losses:
 *
 * <pre>
 *   L_k = alpha * T^2 * KL(pbar_k || softmax(z_k / T))  +  (1 - alpha) * h * CE(y, softmax(z_k))
 *   pbar_k = mean over j != k of softmax(z_j / T), held constant (detached)
 * </pre>
 *
 * with y the one-hot hard label and h = sum(y) in {0, 1}, so a row without a label carries the KL term only. The peers'
 * mean is a target, not a path for gradient: dL/dz_k is dL_k/dz_k alone, {@code alpha T (q_k - pbar_k) + (1 - alpha)
 * (h s_k - y)}, as each student of Zhang et al. steps on its own loss with the others' predictions fixed. The T^2
 * factor keeps the soft gradient's size independent of T, as in {@link DistillationLoss}. Because the peers' mean is
 * detached, the gradient is not that of the summed score (the score of L_j moves with z_k through pbar_j): a
 * finite-difference check takes each L_k against its own z_k ({@code MutualLossTest}).
 *
 * <p>Labels use the shared layout {@code [p (C) | y (C)]} ({@link TargetLayout}); there is no teacher, so p is ignored.
 * Gradients are per example (not divided by the batch size), as DL4J expects. Computed row by row in double
 * precision; an activation other than identity is applied before and back-propagated after.
 */
public final class MutualLoss implements ILossFunction {
    private static final long serialVersionUID = 1L;
    /** Floor inside log pbar, so that a peer mean of exactly 0 stays finite (0 log 0 = 0). */
    private static final double LOG_FLOOR = 1e-30;

    private final int peers;
    private final double temperature;
    private final double alpha;

    @JsonCreator
    public MutualLoss(@JsonProperty("peers") int peers, @JsonProperty("temperature") double temperature,
                      @JsonProperty("alpha") double alpha) {
        if (peers < 2) {
            throw new IllegalArgumentException("mutual learning needs at least 2 peers, got " + peers);
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        }
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
        }
        this.peers = peers;
        this.temperature = temperature;
        this.alpha = alpha;
    }

    public int getPeers() {
        return peers;
    }

    public double getTemperature() {
        return temperature;
    }

    public double getAlpha() {
        return alpha;
    }

    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        double[][] per = studentScores(labels, activated(preOutput, activationFn), mask);
        double[] rows = new double[per.length];
        for (int i = 0; i < per.length; i++) {
            for (double s : per[i]) {
                rows[i] += s;
            }
        }
        return KdRows.create(rows, new long[] {rows.length, 1}, preOutput.dataType());
    }

    @Override
    public double computeScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask,
                               boolean average) {
        double sum = 0;
        for (double[] row : studentScores(labels, activated(preOutput, activationFn), mask)) {
            for (double s : row) {
                sum += s;
            }
        }
        return average ? sum / preOutput.size(0) : sum;
    }

    @Override
    public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        INDArray z = activated(preOutput, activationFn);
        int n = (int) z.size(0);
        double[] grad = new double[n * (int) z.size(1)];
        rows(labels, z, mask).run(null, grad);
        INDArray dLdz = KdRows.create(grad, z.shape(), preOutput.dataType());
        return activationFn.backprop(preOutput.dup(), dLdz).getFirst();
    }

    @Override
    public Pair<Double, INDArray> computeGradientAndScore(INDArray labels, INDArray preOutput, IActivation activationFn,
                                                          INDArray mask, boolean average) {
        return new Pair<>(computeScore(labels, preOutput, activationFn, mask, average),
                computeGradient(labels, preOutput, activationFn, mask));
    }

    /** Each row's L_k per student, [N][K], for activated logits {@code z} (mask applied). */
    double[][] studentScores(INDArray labels, INDArray z, INDArray mask) {
        double[][] scores = new double[(int) z.size(0)][peers];
        rows(labels, z, mask).run(scores, null);
        return scores;
    }

    private PeerRows rows(INDArray labels, INDArray z, INDArray mask) {
        return new PeerRows(peers, temperature, alpha, LOG_FLOOR, labels, z, mask);
    }

    private static INDArray activated(INDArray preOutput, IActivation activationFn) {
        return activationFn.getActivation(preOutput.dup(), true);
    }

    @Override
    public String name() {
        return "MutualLoss(peers=" + peers + ", T=" + temperature + ", alpha=" + alpha + ")";
    }

    @Override
    public String toString() {
        return name();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MutualLoss other && peers == other.peers
                && Double.compare(temperature, other.temperature) == 0 && Double.compare(alpha, other.alpha) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(peers, temperature, alpha);
    }
}
