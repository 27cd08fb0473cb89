package org.distillery.jobs.export;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The int8 parameters of the activations a quantized graph requantizes, calibrated on rows of a transfer set run
 * through the float network (DL4J, inference mode): the graph's input and the output of every layer that computes
 * something (convolution, dense or activation layer) except the last, whose logits stay float. Poolings and
 * reshapes keep the parameters of their input: max pooling only selects values, and the requantization after it is
 * then exact.
 *
 * <p>A range is the minimum and maximum seen, or with {@code percentile} P &lt; 100 the (100 - P)th and Pth
 * percentiles of every value seen at that point (clipping rare outliers for a finer scale).
 *
 * @param input      parameters of the graph's input
 * @param outputs    parameters of each calibrated layer's output, by layer index
 * @param rows       calibration rows
 * @param percentile P (100: min/max)
 */
record ActivationRanges(Quantization.Activation input, Map<Integer, Quantization.Activation> outputs, long rows,
                        double percentile) {
    private static final int BATCH = 256;

    ActivationRanges {
        outputs = new TreeMap<>(outputs);
    }

    /** The parameters of layer {@code layer}'s output. */
    Quantization.Activation output(int layer) {
        Quantization.Activation a = outputs.get(layer);
        if (a == null) {
            throw new IllegalStateException("layer " + layer + "'s output was not calibrated");
        }
        return a;
    }

    /** Calibrates the points {@code plan} requantizes on {@code rows} [N, inputs] of features. */
    static ActivationRanges measure(MultiLayerNetwork net, NetworkPlan plan, INDArray rows, double percentile) {
        if (rows.size(0) == 0) {
            throw new IllegalArgumentException("quantization needs calibration rows, got none");
        }
        List<Integer> points = new ArrayList<>(); // index into feedForward's list: 0 the input, l + 1 layer l's output
        points.add(0);
        List<NetworkPlan.Step> steps = plan.steps();
        for (int i = 0; i < steps.size() - 1; i++) {
            NetworkPlan.Step s = steps.get(i);
            if (NetworkPlan.weighted(s) || s instanceof NetworkPlan.Act a && !a.activation().identity()) {
                points.add(s.layer() + 1);
            }
        }
        List<Collector> collectors = points.stream().map(p -> new Collector(percentile < 100)).toList();
        for (long from = 0; from < rows.size(0); from += BATCH) {
            INDArray batch = rows.get(NDArrayIndex.interval(from, Math.min(rows.size(0), from + BATCH)),
                    NDArrayIndex.all());
            List<INDArray> activations = net.feedForward(batch.castTo(DataType.FLOAT), false);
            for (int k = 0; k < points.size(); k++) {
                collectors.get(k).add(activations.get(points.get(k)));
            }
        }
        Map<Integer, Quantization.Activation> outputs = new LinkedHashMap<>();
        for (int k = 1; k < points.size(); k++) {
            outputs.put(points.get(k) - 1, collectors.get(k).range(percentile));
        }
        return new ActivationRanges(collectors.get(0).range(percentile), outputs, rows.size(0), percentile);
    }

    /** For the manifest: each point's range, scale and zero point. */
    List<Map<String, Object>> describe() {
        List<Map<String, Object>> out = new ArrayList<>();
        out.add(entry("input", input));
        outputs.forEach((layer, a) -> out.add(entry("layer " + layer + " output", a)));
        return out;
    }

    private static Map<String, Object> entry(String tensor, Quantization.Activation a) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("tensor", tensor);
        m.put("min", a.lo());
        m.put("max", a.hi());
        m.put("scale", a.scale());
        m.put("zeroPoint", (int) a.zeroPoint());
        return m;
    }

    /** Min and max of every value seen, and the values themselves when a percentile is wanted. */
    private static final class Collector {
        private final boolean keep;
        private final List<float[]> values = new ArrayList<>();
        private float min = Float.POSITIVE_INFINITY;
        private float max = Float.NEGATIVE_INFINITY;

        Collector(boolean keep) {
            this.keep = keep;
        }

        void add(INDArray a) {
            float[] v = a.castTo(DataType.FLOAT).dup('c').data().asFloat();
            for (float x : v) {
                if (!Float.isFinite(x)) {
                    throw new IllegalArgumentException("calibration produced a non-finite activation (" + x
                            + "): the calibration rows or the model hold NaN or infinite values");
                }
                min = Math.min(min, x);
                max = Math.max(max, x);
            }
            if (keep) {
                values.add(v);
            }
        }

        Quantization.Activation range(double percentile) {
            if (!keep) {
                return Quantization.Activation.of(min, max);
            }
            int n = values.stream().mapToInt(v -> v.length).sum();
            float[] all = new float[n];
            int at = 0;
            for (float[] v : values) {
                System.arraycopy(v, 0, all, at, v.length);
                at += v.length;
            }
            Arrays.sort(all);
            return Quantization.Activation.of(all[rank(100 - percentile, n)], all[rank(percentile, n)]);
        }

        /** The index of the nearest-rank pth percentile of n sorted values (p = 0: the minimum). */
        private static int rank(double p, int n) {
            return (int) Math.max(0, Math.min(n - 1, Math.ceil(p * n / 100) - 1));
        }
    }
}
