package org.distillery.model.schema;

import java.io.Serializable;
import java.util.Arrays;

/**
 * A window's next-token logits at its P scored positions to the stored values of {@link TokenSoftTargetSchema} and
 * back: {@link SoftTargetCodec} applied position by position, the positions' values concatenated in position order.
 * The label job encodes with it; trainers and reports decode with it.
 */
public final class TokenSoftTargetCodec implements Serializable {
    private static final long serialVersionUID = 1L;
    private final SoftTargetCodec codec;

    public TokenSoftTargetCodec(SoftTargetLayout layout) {
        if (layout.soft() || layout.hasHint()) {
            throw new IllegalArgumentException("token soft targets store no soft column and no hint, got "
                    + layout.describe());
        }
        this.codec = new SoftTargetCodec(layout);
    }

    public SoftTargetLayout layout() {
        return codec.layout();
    }

    /** The per-position top-K values of a window: {@code index[p]}, {@code logit[p]} (K each), {@code tailLse[p]}. */
    public record TopKPositions(int[][] index, float[][] logit, float[] tailLse) {
    }

    /**
     * The stored values of the layout's logit columns for {@code logits} [P][V] (raw, full precision): {@code logits}
     * (float[P V], or byte[2 P V] for fp16), or {@code topk_index} (int[P K]), {@code topk_logit} (float[P K] or
     * byte[2 P K]) and {@code tail_lse} (float[P]).
     */
    public Object[] encode(float[][] logits) {
        SoftTargetLayout layout = codec.layout();
        int p = logits.length;
        int v = layout.classes();
        if (!layout.topKOnly()) {
            float[] dense = new float[Math.multiplyExact(p, v)];
            for (int i = 0; i < p; i++) {
                System.arraycopy(checked(logits[i], v, i), 0, dense, i * v, v);
            }
            return new Object[] {values(dense)};
        }
        int k = layout.topK();
        int[] index = new int[p * k];
        float[] logit = new float[p * k];
        float[] tail = new float[p];
        for (int i = 0; i < p; i++) {
            SoftTargetCodec.TopK top = SoftTargetCodec.topK(checked(logits[i], v, i), k);
            System.arraycopy(top.index(), 0, index, i * k, k);
            System.arraycopy(top.logit(), 0, logit, i * k, k);
            tail[i] = top.tailLse();
        }
        return new Object[] {index, values(logit), tail};
    }

    /**
     * Dense logits [P][V] from the stored values of one row's logit columns (as {@link #encode} gives them), each
     * position decoded as {@link SoftTargetCodec#decode} decodes a row: a top-K position's tail mass spread evenly
     * over its V - K other tokens.
     *
     * @throws IllegalStateException when the stored values do not fit the layout and {@code positions}
     */
    public float[][] decode(int positions, Object... stored) {
        SoftTargetLayout layout = codec.layout();
        float[][] out = new float[positions][];
        if (!layout.topKOnly()) {
            float[] dense = floats(stored[0], positions * layout.classes(), TokenSoftTargetSchema.LOGITS);
            int v = layout.classes();
            for (int i = 0; i < positions; i++) {
                out[i] = Arrays.copyOfRange(dense, i * v, (i + 1) * v);
            }
            return out;
        }
        TopKPositions top = topK(positions, stored);
        for (int i = 0; i < positions; i++) {
            out[i] = SoftTargetCodec.reconstruct(top.index()[i], top.logit()[i], top.tailLse()[i], layout.classes());
        }
        return out;
    }

    /**
     * The per-position top-K values of one row of a top-K layout, as stored (fp16 values become the floats they
     * stand for), for {@code org.distillery.model.text.WindowBatches.Example#withTopK}.
     */
    public TopKPositions topK(int positions, Object... stored) {
        SoftTargetLayout layout = codec.layout();
        if (!layout.topKOnly() || stored.length != 3) {
            throw new IllegalStateException("top-k values asked of " + stored.length + " stored columns of layout "
                    + layout.describe());
        }
        int k = layout.topK();
        int[] index = (int[]) stored[0];
        if (index.length != positions * k) {
            throw new IllegalStateException("stored " + TokenSoftTargetSchema.TOPK_INDEX + " has " + index.length
                    + " values, expected " + positions * k + " (" + positions + " positions x top " + k + ")");
        }
        float[] logit = floats(stored[1], positions * k, TokenSoftTargetSchema.TOPK_LOGIT);
        float[] tail = (float[]) stored[2];
        if (tail.length != positions) {
            throw new IllegalStateException("stored " + TokenSoftTargetSchema.TAIL_LSE + " has " + tail.length
                    + " values, expected " + positions);
        }
        int[][] idx = new int[positions][];
        float[][] val = new float[positions][];
        for (int i = 0; i < positions; i++) {
            idx[i] = Arrays.copyOfRange(index, i * k, (i + 1) * k);
            val[i] = Arrays.copyOfRange(logit, i * k, (i + 1) * k);
        }
        return new TopKPositions(idx, val, tail);
    }

    private Object values(float[] v) {
        return codec.layout().precision() == SoftTargetLayout.Precision.FP16 ? Half.pack(v) : v;
    }

    private float[] floats(Object stored, int expected, String column) {
        float[] v = codec.layout().precision() == SoftTargetLayout.Precision.FP16 ? Half.unpack((byte[]) stored)
                : (float[]) stored;
        if (v.length != expected) {
            throw new IllegalStateException("stored " + column + " has " + v.length + " values, expected " + expected);
        }
        return v;
    }

    private static float[] checked(float[] z, int v, int position) {
        if (z.length != v) {
            throw new IllegalArgumentException("got " + z.length + " logits at scored position " + position + " for a"
                    + " vocabulary of " + v);
        }
        return z;
    }
}
