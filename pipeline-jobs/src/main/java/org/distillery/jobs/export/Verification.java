package org.distillery.jobs.export;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.nn.LogitFunction;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An exported graph's logits against DL4J's on the same rows (also any two computations of the same logits, e.g. a
 * network with its calibration folded in against the calibration applied apart).
 *
 * <p>fp32 tolerance, per logit: {@value #FP32_RELATIVE} x max(1, the row's largest |DL4J logit|). ONNX Runtime and
 * DL4J compute the same float32 operations and differ only in the order of their sums (MLAS vs OpenBLAS kernels,
 * blocking, FMA): a dot product of K terms summed in two orders differs by at most 2 K u sum|w x| (u = 2^-24), by far
 * less in practice because rounding errors do not all point the same way. For our students (K up to 800, logits of a
 * few units) that is 1e-6 to 1e-5 of the row's scale; the tolerance leaves a margin of ten above the worst seen, while
 * a wrong weight layout, a missing bias or activation moves logits by a tenth or more. It is the threshold beyond
 * which the label job's drift report counts a row as changed, too. int8 changes logits by design; what it must keep
 * is the argmax (the bar: the same class on at least 99% of rows).
 *
 * @param rows         rows compared
 * @param maxAbsDiff   max |ONNX - DL4J| over every logit
 * @param maxRelDiff   max over rows of max |ONNX - DL4J| / max(1, max |DL4J logit|) of the row
 * @param agreement    fraction of rows with the same argmax
 */
public record Verification(long rows, double maxAbsDiff, double maxRelDiff, double agreement) {
    public static final double FP32_RELATIVE = 1e-4;

    public static Verification compare(float[][] dl4j, float[][] onnx) {
        if (dl4j.length != onnx.length) {
            throw new IllegalStateException("compared " + onnx.length + " ONNX rows with " + dl4j.length + " DL4J rows");
        }
        double maxAbs = 0;
        double maxRel = 0;
        int same = 0;
        for (int i = 0; i < dl4j.length; i++) {
            double scale = 1;
            double diff = 0;
            for (int j = 0; j < dl4j[i].length; j++) {
                scale = Math.max(scale, Math.abs(dl4j[i][j]));
                double d = Math.abs((double) onnx[i][j] - dl4j[i][j]);
                diff = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(diff, d);
            }
            maxAbs = Math.max(maxAbs, diff);
            maxRel = Math.max(maxRel, diff / scale);
            same += SoftTargets.argmax(dl4j[i]) == SoftTargets.argmax(onnx[i]) ? 1 : 0;
        }
        return new Verification(dl4j.length, maxAbs, maxRel, dl4j.length == 0 ? 1 : (double) same / dl4j.length);
    }

    public boolean withinFp32Tolerance() {
        return maxRelDiff <= FP32_RELATIVE;
    }

    Map<String, Object> describe(boolean fp32) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rows", rows);
        m.put("maxAbsDiff", maxAbsDiff);
        m.put("maxRelDiff", maxRelDiff);
        if (fp32) {
            m.put("tolerance", FP32_RELATIVE + " x max(1, row's max |logit|)");
        }
        m.put("argmaxAgreement", agreement);
        return m;
    }

    static float[][] logits(LogitFunction f, INDArray rows) {
        return org.distillery.model.nn.Matrices.rows(f.logits(rows));
    }

    /** Median milliseconds of one single-row call, after as many warm-up calls. */
    static double latencyMillis(LogitFunction f, INDArray rows, int runs) {
        long[] nanos = new long[runs];
        for (int i = 0; i < 2 * runs; i++) {
            INDArray row = rows.getRow(i % rows.size(0), true);
            long t0 = System.nanoTime();
            f.logits(row);
            if (i >= runs) {
                nanos[i - runs] = System.nanoTime() - t0;
            }
        }
        Arrays.sort(nanos);
        return (runs % 2 == 1 ? nanos[runs / 2] : (nanos[runs / 2 - 1] + nanos[runs / 2]) / 2.0) / 1e6;
    }
}
