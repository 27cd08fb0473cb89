package org.distillery.model.text;

import java.io.Serializable;
import org.distillery.model.loss.SoftTargets;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * How closely a student LM follows its teacher over the scored tokens of a test split (accumulated, mergeable):
 * <ul>
 *   <li>{@link #top1()}: how often the two argmaxes (first on ties) agree;</li>
 *   <li>{@link #top5()}: how often the teacher's argmax is among the student's five most likely tokens, i.e. fewer
 *   than five tokens have a strictly larger student logit (ties count in the student's favour);</li>
 *   <li>{@link #meanKl()}: the mean per-token KL(p_teacher || p_student) at T = 1, in nats, computed as the image
 *   report's (SoftTargets.kl of the two softmaxes, each token's KL clamped at 0 against rounding).</li>
 * </ul>
 * Each is NaN before the first token.
 */
public final class TokenAgreement implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final int TOP = 5;

    private long tokens;
    private long top1;
    private long top5;
    private double kl;

    /** Adds one scored token: the teacher's and the student's next-token logits. */
    public void add(float[] teacher, float[] student) {
        if (teacher.length != student.length) {
            throw new IllegalArgumentException("teacher has " + teacher.length + " logits, student " + student.length);
        }
        int t = ScoredTokens.argmax(teacher);
        int above = 0;
        for (float z : student) {
            above += z > student[t] ? 1 : 0;
        }
        tokens++;
        top1 += ScoredTokens.argmax(student) == t ? 1 : 0;
        top5 += above < TOP ? 1 : 0;
        kl += Math.max(0, SoftTargets.kl(SoftTargets.soften(teacher, 1), SoftTargets.soften(student, 1)));
    }

    /** Adds the scored positions ({@code mask} [N, T] &gt; 0; null: all) of two [N, V, T] logit batches. */
    public void addBatch(INDArray teacher, INDArray student, INDArray mask) {
        ScoredTokens.forEach(mask, (n, t, rows) -> add(rows[0], rows[1]), teacher, student);
    }

    /** Adds {@code other}'s tokens to this accumulator's; returns this. */
    public TokenAgreement merge(TokenAgreement other) {
        tokens += other.tokens;
        top1 += other.top1;
        top5 += other.top5;
        kl += other.kl;
        return this;
    }

    public long tokens() {
        return tokens;
    }

    public double top1() {
        return tokens == 0 ? Double.NaN : top1 / (double) tokens;
    }

    public double top5() {
        return tokens == 0 ? Double.NaN : top5 / (double) tokens;
    }

    public double meanKl() {
        return tokens == 0 ? Double.NaN : kl / tokens;
    }
}
