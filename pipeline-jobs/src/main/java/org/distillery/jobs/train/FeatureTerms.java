package org.distillery.jobs.train;

import java.util.Locale;
import org.distillery.model.loss.Relation;

/**
 * The feature-based (FitNets hints) and relation-based terms of objective kd, both against the teacher layer that the
 * label job stored ({@code label --hint-layer}).
 *
 * @param hintWeight     beta, the weight of the hint's mean squared error; 0: no hints
 * @param schedule       {@code two-stage} (FitNets' own: first the student's layers up to the guided one and a
 *                       regressor are fitted to the hint alone, then the whole student is distilled from there) or
 *                       {@code joint} (the hint term added to the KD loss throughout)
 * @param guidedLayer    the student's guided hidden layer (0-based among its dense hidden layers); null: the last.
 *                       {@code joint} needs the last (its regressor is a second head of the output layer)
 * @param hintEpochs     epochs of the first stage of {@code two-stage}
 * @param relation       the relation between minibatch rows (student logits vs the stored teacher layer) to preserve
 * @param relationWeight lambda, the relation term's weight
 */
public record FeatureTerms(double hintWeight, String schedule, Integer guidedLayer, int hintEpochs, Relation relation,
                           double relationWeight) {
    public static final String TWO_STAGE = "two-stage";
    public static final String JOINT = "joint";

    public FeatureTerms {
        if (!(hintWeight >= 0) || Double.isInfinite(hintWeight)) {
            throw new IllegalArgumentException("hint weight must be a finite number >= 0, got " + hintWeight);
        }
        schedule = schedule == null ? TWO_STAGE : schedule.toLowerCase(Locale.ROOT);
        if (!schedule.equals(TWO_STAGE) && !schedule.equals(JOINT)) {
            throw new IllegalArgumentException("hint schedule must be two-stage or joint, got '" + schedule + "'");
        }
        if (guidedLayer != null && guidedLayer < 0) {
            throw new IllegalArgumentException("guided layer must be a hidden layer index >= 0, got " + guidedLayer);
        }
        if (hintEpochs < 1) {
            throw new IllegalArgumentException("hint epochs must be >= 1, got " + hintEpochs);
        }
        relation = relation == null ? Relation.NONE : relation;
        if (!(relationWeight >= 0) || Double.isInfinite(relationWeight)) {
            throw new IllegalArgumentException("relation weight must be a finite number >= 0, got " + relationWeight);
        }
    }

    public boolean hints() {
        return hintWeight > 0;
    }

    public boolean relational() {
        return relation != Relation.NONE && relationWeight > 0;
    }

    /** Whether any term needs the stored teacher layer. */
    public boolean active() {
        return hints() || relational();
    }

    /** Whether the hint term rides along the KD loss (joint), so the output layer carries the regressor. */
    boolean jointHints() {
        return hints() && schedule.equals(JOINT);
    }

    /** Whether a hint-only first stage runs before distillation (two-stage). */
    boolean hintStage() {
        return hints() && schedule.equals(TWO_STAGE);
    }

    /** The guided layer's index among {@code hiddenLayers} dense hidden layers. */
    int guided(int hiddenLayers) {
        int g = guidedLayer == null ? hiddenLayers - 1 : guidedLayer;
        if (g >= hiddenLayers) {
            throw new IllegalArgumentException("guided layer " + g + " out of range: the student has dense hidden"
                    + " layers 0 to " + (hiddenLayers - 1));
        }
        if (jointHints() && g != hiddenLayers - 1) {
            throw new IllegalArgumentException("--hint-schedule joint guides the student's last hidden layer ("
                    + (hiddenLayers - 1) + "), got guided layer " + g + "; use two-stage for another layer");
        }
        return g;
    }

    /** One line for logs, manifests and plans. */
    String describe() {
        StringBuilder b = new StringBuilder();
        if (hints()) {
            b.append("hints (").append(schedule).append(", beta ").append(hintWeight).append(", guided layer ")
                    .append(guidedLayer == null ? "last" : guidedLayer)
                    .append(hintStage() ? ", " + hintEpochs + " hint epochs" : "").append(")");
        }
        if (relational()) {
            b.append(b.length() > 0 ? " + " : "").append("relation ").append(relation.id()).append(" (lambda ")
                    .append(relationWeight).append(")");
        }
        return b.length() == 0 ? "none" : b.toString();
    }
}
