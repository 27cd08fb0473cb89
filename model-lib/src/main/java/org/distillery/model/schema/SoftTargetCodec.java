package org.distillery.model.schema;

import java.io.Serializable;
import java.util.Arrays;
import org.distillery.model.loss.SoftTargets;

/**
 * Teacher logits to the stored values of a {@link SoftTargetLayout} and back to dense logits, in one place: the label
 * job encodes with it, and everything that reads soft targets (the trainer, the label reports) decodes with it.
 *
 * <p>Decoding gives a dense float[C] per row. fp16 values become the floats they stand for. For a top-K row, the K
 * kept logits go back to their classes and the tail's mass is spread uniformly over the other C - K classes: each gets
 * tail_lse - ln(C - K). At T = 1 softmax of the result is exact for the K kept classes (up to the storage precision)
 * and gives the tail exactly its total mass, because the reconstructed logits have the same log-sum-exp as the
 * teacher's. At another T it is an approximation: the tail is tempered as if its logits were equal, which, by the
 * power-mean inequality, gives the tail at least its true mass for T &gt; 1 and at most for T &lt; 1, and shifts the
 * kept classes' probabilities accordingly (StorageBench measures the KL at T = 1 and T = 4). The order of the classes
 * (the argmax in particular) is kept, because the tail's mean never exceeds its largest logit.
 */
public final class SoftTargetCodec implements Serializable {
    private static final long serialVersionUID = 1L;
    private final SoftTargetLayout layout;

    public SoftTargetCodec(SoftTargetLayout layout) {
        this.layout = layout;
    }

    public SoftTargetLayout layout() {
        return layout;
    }

    /** The K largest logits (largest first, ties to the lower class) and the log-sum-exp of the others. */
    public record TopK(int[] index, float[] logit, float tailLse) {
    }

    /**
     * The stored values of one row after {@code id} and {@code label}, in the layout's column order: {@code logits}
     * (float[] or, for fp16, byte[]) or {@code topk_index} (int[]), {@code topk_logit} (float[] or byte[]) and
     * {@code tail_lse} (Float); then {@code soft} (float[], softmax(logits / t)) when the layout stores it.
     */
    public Object[] encode(float[] logits, double temperature) {
        if (logits.length != layout.classes()) {
            throw new IllegalArgumentException("got " + logits.length + " logits for " + layout.classes() + " classes");
        }
        Object[] out = new Object[layout.logitColumns().size() + (layout.soft() ? 1 : 0)];
        if (layout.topKOnly()) {
            TopK top = topK(logits, layout.topK());
            out[0] = top.index();
            out[1] = values(top.logit());
            out[2] = top.tailLse();
        } else {
            out[0] = values(logits);
        }
        if (layout.soft()) {
            out[out.length - 1] = SoftTargets.soften(logits, temperature);
        }
        return out;
    }

    /**
     * Dense logits, float[C], from the values of the layout's logit columns of one row (as {@link #encode} gives
     * them: float[] or byte[] logits; or int[] index, float[] or byte[] logits and a Float tail).
     *
     * @throws IllegalStateException when the stored values do not fit the layout (a corrupt output)
     */
    public float[] decode(Object... stored) {
        if (stored.length != layout.logitColumns().size()) {
            throw new IllegalStateException("got " + stored.length + " stored logit columns, the layout has "
                    + layout.logitColumns());
        }
        if (!layout.topKOnly()) {
            return checkedLength(floats(stored[0]), layout.classes(), SoftTargetSchema.LOGITS);
        }
        int[] index = (int[]) stored[0];
        float[] logit = checkedLength(floats(stored[1]), layout.topK(), SoftTargetSchema.TOPK_LOGIT);
        return reconstruct(index, logit, (Float) stored[2], layout.classes());
    }

    private Object values(float[] v) {
        return layout.precision() == SoftTargetLayout.Precision.FP16 ? Half.pack(v) : v;
    }

    private float[] floats(Object stored) {
        return layout.precision() == SoftTargetLayout.Precision.FP16 ? Half.unpack((byte[]) stored) : (float[]) stored;
    }

    private static float[] checkedLength(float[] v, int expected, String column) {
        if (v.length != expected) {
            throw new IllegalStateException("stored " + column + " has " + v.length + " values, expected " + expected);
        }
        return v;
    }

    /** The {@code k} largest of {@code logits} and the log-sum-exp of the rest (-infinity when k = C). */
    public static TopK topK(float[] logits, int k) {
        int c = logits.length;
        long[] keys = new long[c]; // (descending value, ascending index) as one sortable long
        for (int i = 0; i < c; i++) {
            keys[i] = ((long) sortable(-logits[i]) << 32) | i;
        }
        Arrays.sort(keys);
        int[] index = new int[k];
        float[] logit = new float[k];
        for (int j = 0; j < k; j++) {
            index[j] = (int) keys[j];
            logit[j] = logits[index[j]];
        }
        if (k == c) {
            return new TopK(index, logit, Float.NEGATIVE_INFINITY);
        }
        double max = logits[(int) keys[k]];
        double sum = 0;
        for (int j = k; j < c; j++) {
            sum += Math.exp(logits[(int) keys[j]] - max);
        }
        return new TopK(index, logit, (float) (max + Math.log(sum)));
    }

    /** An int whose signed order is the float order of {@code f} (for finite values and infinities). */
    private static int sortable(float f) {
        int bits = Float.floatToIntBits(f);
        return bits ^ ((bits >> 31) & 0x7FFFFFFF);
    }

    /**
     * Dense logits from a top-K row: the kept logits at their classes, tail_lse - ln(C - K) everywhere else (see the
     * class comment for what that preserves).
     */
    public static float[] reconstruct(int[] index, float[] logit, float tailLse, int classes) {
        if (index.length != logit.length || index.length > classes) {
            throw new IllegalStateException("top-k row has " + index.length + " indices and " + logit.length
                    + " logits for " + classes + " classes");
        }
        int rest = classes - index.length;
        float[] z = new float[classes];
        Arrays.fill(z, rest == 0 ? Float.NEGATIVE_INFINITY : (float) (tailLse - Math.log(rest)));
        boolean[] seen = new boolean[classes];
        for (int j = 0; j < index.length; j++) {
            int i = index[j];
            if (i < 0 || i >= classes || seen[i]) {
                throw new IllegalStateException("top-k index " + i + (i < 0 || i >= classes ? " outside [0, "
                        + classes + ")" : " repeated") + " in a stored row");
            }
            seen[i] = true;
            z[i] = logit[j];
        }
        if (rest > 0 && !Float.isFinite(tailLse)) {
            throw new IllegalStateException("non-finite tail_lse " + tailLse + " in a stored top-k row");
        }
        return z;
    }
}
