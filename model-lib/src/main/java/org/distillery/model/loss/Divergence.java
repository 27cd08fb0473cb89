package org.distillery.model.loss;

import java.util.Arrays;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonValue;

/**
 * How {@link DistillationLoss} compares the teacher's softened distribution p with the student's q = softmax(z / T).
 * Each is scaled by T^2 in the loss. A row whose p is all zero (no teacher) has no soft term under any of them.
 */
public enum Divergence {
    /**
     * KL(p || q) = sum p (log p - log q), mode-covering: q must put mass wherever p has some (Hinton, Vinyals and Dean
     * 2015, "Distilling the Knowledge in a Neural Network"). An entry p_k = 0 contributes nothing (0 log 0 = 0).
     */
    FORWARD_KL("forward"),
    /**
     * KL(q || p) = sum q (log q - log p), mode-seeking: q may drop modes of p but is penalised for mass where p has
     * little (Gu et al. 2024, "MiniLLM: Knowledge Distillation of Large Language Models"; Agarwal et al. 2024,
     * "On-Policy Distillation of Language Models: Learning from Self-Generated Mistakes", GKD). Computed row by row
     * (per token for LMs) on the transfer data: off-policy, not MiniLLM's sequence-level policy gradient over the
     * student's own samples. An entry p_k = 0 is read as p_k = 1e-30, so it costs q_k (log q_k + 69.1): finite but
     * steep, instead of infinite.
     */
    REVERSE_KL("reverse"),
    /**
     * Jensen-Shannon, JS(p, q) = 1/2 KL(p || m) + 1/2 KL(q || m) with m = (p + q) / 2: symmetric and bounded by ln 2
     * (Lin 1991, "Divergence Measures Based on the Shannon Entropy"). An entry p_k = 0 is well defined: it contributes
     * q_k ln 2 / 2.
     */
    JENSEN_SHANNON("js");

    private final String id;

    Divergence(String id) {
        this.id = id;
    }

    /** The configuration name, also the JSON form. */
    @JsonValue
    public String id() {
        return id;
    }

    /** The divergence named {@code s} (its {@link #id()} or its constant name). */
    @JsonCreator
    public static Divergence parse(String s) {
        for (Divergence d : values()) {
            if (d.id.equals(s) || d.name().equals(s)) {
                return d;
            }
        }
        throw new IllegalArgumentException("divergence must be one of "
                + Arrays.stream(values()).map(Divergence::id).toList() + ", got '" + s + "'");
    }
}
