package org.distillery.model.loss;

/**
 * Temperature softening of raw logits, softmax(z / T), on plain arrays: shared by the label job (which stores both the
 * raw logits and the softened targets) and the trainer (which re-tempers stored logits at its own T).
 */
public final class SoftTargets {
    private SoftTargets() {
    }

    /** softmax(logits / t), accumulated in double precision; the result sums to 1 within float rounding. */
    public static float[] soften(float[] logits, double t) {
        if (!(t > 0)) {
            throw new IllegalArgumentException("temperature must be > 0, got " + t);
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float z : logits) {
            max = Math.max(max, z);
        }
        double[] e = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            e[i] = Math.exp((logits[i] - max) / t);
            sum += e[i];
        }
        float[] out = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = (float) (e[i] / sum);
        }
        return out;
    }

    /** Index of the largest value (first on ties). */
    public static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** KL(p || q) in nats with 0 log 0 = 0; q is floored to avoid infinities from underflow. */
    public static double kl(float[] p, float[] q) {
        double kl = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                kl += p[i] * (Math.log(p[i]) - Math.log(Math.max(q[i], 1e-30)));
            }
        }
        return kl;
    }
}
