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
        Nucleus n = nucleus(logits, temperature, topP);
        if (temperature == 0) {
            return n.order()[0];
        }
        double u = rng.nextDouble() * n.mass();
        for (int k = 0; k < n.kept() - 1; k++) {
            u -= n.weights()[n.order()[k]];
            if (u < 0) {
                return n.order()[k];
            }
        }
        return n.order()[n.kept() - 1];
    }

    /**
     * The distribution {@link #next} draws from, [V]: softmax(z / temperature) restricted to the nucleus and
     * renormalised, zero outside it (one-hot on the argmax at temperature 0).
     */
    public static double[] distribution(float[] logits, double temperature, double topP) {
        Nucleus n = nucleus(logits, temperature, topP);
        double[] q = new double[logits.length];
        for (int k = 0; k < n.kept(); k++) {
            q[n.order()[k]] = n.weights()[n.order()[k]] / n.mass();
        }
        return q;
    }

    /**
     * Unnormalised weights exp((z - max) / T), token ids by falling weight (lower id first on ties), how many of them
     * the nucleus keeps (the fewest whose weight reaches topP of the total, at least one) and their weight.
     */
    private record Nucleus(double[] weights, int[] order, int kept, double mass) {
    }

    private static Nucleus nucleus(float[] logits, double temperature, double topP) {
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
            double[] w = new double[logits.length];
            w[best] = 1;
            return new Nucleus(w, new int[] {best}, 1, 1);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(((double) logits[i] - logits[best]) / temperature);
            sum += p[i];
        }
        Integer[] sorted = new Integer[p.length];
        for (int i = 0; i < sorted.length; i++) {
            sorted[i] = i;
        }
        Arrays.sort(sorted, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        int[] order = new int[sorted.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = sorted[i];
        }
        if (topP == 1) { // every token, however small its weight against the rounding of the sums
            return new Nucleus(p, order, order.length, sum);
        }
        int kept = 0;
        double mass = 0;
        while (kept < order.length && (kept == 0 || mass < topP * sum)) {
            mass += p[order[kept++]];
        }
        return new Nucleus(p, order, kept, mass);
    }
}
