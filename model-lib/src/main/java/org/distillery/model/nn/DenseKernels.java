package org.distillery.model.nn;

import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The element-wise parts of {@link DenseTrainingStep} in plain Java over the arrays' native memory, one pass each where
 * ND4J takes one native call per operation: on a 64-row step of the 784-64-10 student each ND4J call costs tens of
 * microseconds of overhead against well under a microsecond of arithmetic (docs/PERFORMANCE.md, "Dense step kernels").
 * The matrix products stay ND4J's (BLAS). Every kernel computes in float what the ND4J operations it replaces compute,
 * in the same order where the order matters ({@code DenseKernelsTest} compares them).
 */
final class DenseKernels {
    private DenseKernels() {
    }

    /**
     * A float view of {@code a}'s elements, which must be contiguous (a vector, or a matrix in 'c' order); index it
     * from {@code a.offset()}.
     */
    static FloatBuffer floats(INDArray a) {
        if (a.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("a float array is needed, got " + a.dataType());
        }
        if (a.length() > 1 && (a.elementWiseStride() != 1 || a.ordering() != 'c' && !a.isVector())) {
            throw new IllegalArgumentException("a contiguous 'c' array is needed, got " + a.shapeInfoToString());
        }
        FloatBuffer b = a.data().asNioFloat();
        if (b.capacity() < a.offset() + a.length()) {
            throw new IllegalStateException("the buffer of " + a.shapeInfoToString() + " holds " + b.capacity()
                    + " floats, fewer than its offset " + a.offset() + " + length " + a.length());
        }
        return b;
    }

    /**
     * {@code z += bias} on every row, then {@code act = relu(z)} when {@code act} is not null: ND4J's
     * {@code addiRowVector}, {@code assign} and DL4J's ReLU ({@code z > 0 ? z : 0}).
     */
    static void biasRelu(INDArray z, INDArray bias, INDArray act, long rows, long cols) {
        FloatBuffer zb = floats(z);
        FloatBuffer bb = floats(bias);
        int zo = (int) z.offset();
        int bo = (int) bias.offset();
        int c = (int) cols;
        float[] b = new float[c];
        bb.get(bo, b);
        float[] row = new float[c];
        FloatBuffer ab = act == null ? null : floats(act);
        int ao = act == null ? 0 : (int) act.offset();
        for (int r = 0; r < rows; r++) {
            int at = zo + r * c;
            zb.get(at, row);
            for (int j = 0; j < c; j++) {
                row[j] += b[j];
            }
            zb.put(at, row);
            if (ab != null) {
                for (int j = 0; j < c; j++) {
                    row[j] = row[j] > 0 ? row[j] : 0f;
                }
                ab.put(ao + r * c, row);
            }
        }
    }

    /** {@code eps *= (z > 0 ? 1 : 0)} element-wise: DL4J's ReLU backprop, into {@code eps}. */
    static void reluBackprop(INDArray z, INDArray eps, long rows, long cols) {
        FloatBuffer zb = floats(z);
        FloatBuffer eb = floats(eps);
        int zo = (int) z.offset();
        int eo = (int) eps.offset();
        int c = (int) cols;
        float[] zr = new float[c];
        float[] er = new float[c];
        for (int r = 0; r < rows; r++) {
            zb.get(zo + r * c, zr);
            eb.get(eo + r * c, er);
            for (int j = 0; j < c; j++) {
                er[j] = zr[j] > 0 ? er[j] : 0f;
            }
            eb.put(eo + r * c, er);
        }
    }

    /** {@code out[j] = sum over rows of delta[r, j]}, accumulated in double: the bias gradient. */
    static void columnSums(INDArray delta, INDArray out, long rows, long cols) {
        FloatBuffer db = floats(delta);
        int d0 = (int) delta.offset();
        int c = (int) cols;
        double[] acc = new double[c];
        float[] row = new float[c];
        for (int r = 0; r < rows; r++) {
            db.get(d0 + r * c, row);
            for (int j = 0; j < c; j++) {
                acc[j] += row[j];
            }
        }
        float[] sums = new float[c];
        for (int j = 0; j < c; j++) {
            sums[j] = (float) acc[j];
        }
        floats(out).put((int) out.offset(), sums);
    }

    /**
     * One Adam step over {@code n} parameters in one pass, as DL4J's minibatch division followed by
     * {@link FastAdam}'s rule and SGD's {@code params -= update}: per element, in float and in FastAdam's order,
     * {@code g /= rows; m = m b1 + g (1 - b1); v = v b2 + g g (1 - b2); u = m alphat / (sqrt(v) + eps); p -= u},
     * leaving {@code u} in the gradient (as DL4J's updater leaves the update there). {@code state} holds m then v.
     * With {@code flush}, moments below 1e-30 in magnitude become 0 before the update, as FastAdam flushes them.
     */
    static void adam(INDArray params, INDArray gradient, INDArray state, long n, float rows, double b1, double b2,
                     float alphat, float epsilon, boolean flush) {
        FloatBuffer pb = floats(params);
        FloatBuffer gb = floats(gradient);
        FloatBuffer sb = floats(state);
        int po = (int) params.offset();
        int go = (int) gradient.offset();
        int mo = (int) state.offset();
        int vo = mo + (int) n;
        float beta1 = (float) b1; // ND4J's scalar operations on float arrays take their scalars as floats
        float beta2 = (float) b2;
        float c1 = (float) (1 - b1);
        float c2 = (float) (1 - b2);
        final int chunk = 1024;
        float[] p = new float[chunk];
        float[] g = new float[chunk];
        float[] m = new float[chunk];
        float[] v = new float[chunk];
        for (int start = 0; start < n; start += chunk) {
            int len = (int) Math.min(chunk, n - start);
            pb.get(po + start, p, 0, len);
            gb.get(go + start, g, 0, len);
            sb.get(mo + start, m, 0, len);
            sb.get(vo + start, v, 0, len);
            for (int i = 0; i < len; i++) {
                float gi = g[i] / rows;
                float mi = m[i] * beta1 + gi * c1;
                float vi = v[i] * beta2 + gi * gi * c2;
                if (flush) {
                    mi = Math.abs(mi) < 1e-30f ? 0f : mi;
                    vi = Math.abs(vi) < 1e-30f ? 0f : vi;
                }
                float u = mi * alphat / ((float) Math.sqrt(vi) + epsilon);
                m[i] = mi;
                v[i] = vi;
                g[i] = u;
                p[i] -= u;
            }
            pb.put(po + start, p, 0, len);
            gb.put(go + start, g, 0, len);
            sb.put(mo + start, m, 0, len);
            sb.put(vo + start, v, 0, len);
        }
    }
}
