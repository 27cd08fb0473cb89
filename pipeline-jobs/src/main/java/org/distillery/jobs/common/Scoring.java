package org.distillery.jobs.common;

import org.distillery.model.nn.LogitFunction;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Batched logits of a model (DL4J or ONNX) over a driver-side split. */
public final class Scoring {
    private static final int BATCH = 2048;

    private Scoring() {
    }

    public static float[][] logits(LogitFunction model, INDArray features) {
        long n = features.size(0);
        float[][] out = new float[(int) n][];
        for (long from = 0; from < n; from += BATCH) {
            long to = Math.min(n, from + BATCH);
            float[][] z = org.distillery.model.nn.Matrices.rows(model.logits(features.get(
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(from, to), org.nd4j.linalg.indexing.NDArrayIndex.all())));
            System.arraycopy(z, 0, out, (int) from, z.length);
        }
        return out;
    }

    public static double accuracy(float[][] logits, int[] labels) {
        int correct = 0;
        for (int i = 0; i < labels.length; i++) {
            if (org.distillery.model.loss.SoftTargets.argmax(logits[i]) == labels[i]) {
                correct++;
            }
        }
        return (double) correct / labels.length;
    }
}
