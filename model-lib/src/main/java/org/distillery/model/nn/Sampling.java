package org.distillery.model.nn;

import java.util.Arrays;
import java.util.Random;

/**
 * Drawing the next token from an LM's logits: softmax(z / temperature), restricted to the nucleus of top-p sampling
 * (Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration"): the fewest most probable tokens whose mass
 * reaches p, renormalised. Temperature 0 is greedy decoding (the argmax, first on ties). Seeded by the caller's
 * {@link Random}, so a generation is repeatable.
 */
public final class Sampling {
    private Sampling() {
    }

    /**
     * A token id drawn from {@code logits}.
     *
     * @param temperature &ge; 0; 0 takes the argmax
     * @param topP        in (0, 1]; 1 samples from the whole distribution
     */
    public static int next(float[] logits, double temperature, double topP, Random rng) {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("sampling temperature must be a finite number >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            best = logits[i] > logits[best] ? i : best;
        }
        if (temperature == 0) {
            return best;
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp((logits[i] - logits[best]) / temperature);
            sum += p[i];
        }
        Integer[] order = new Integer[p.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        int kept = 0;
        double mass = 0;
        while (kept < order.length && (kept == 0 || mass < topP * sum)) {
            mass += p[order[kept++]];
        }
        double u = rng.nextDouble() * mass;
        for (int k = 0; k < kept - 1; k++) {
            u -= p[order[k]];
            if (u < 0) {
                return order[k];
            }
        }
        return order[kept - 1];
    }
}
