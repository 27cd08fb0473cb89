package org.distillery.jobs.export;

import java.util.List;
import java.util.Map;
import org.distillery.jobs.export.NetworkPlan.Act;
import org.distillery.jobs.export.NetworkPlan.Conv;
import org.distillery.jobs.export.NetworkPlan.Dense;
import org.distillery.jobs.export.NetworkPlan.Flatten;
import org.distillery.jobs.export.NetworkPlan.Pool;
import org.distillery.jobs.export.NetworkPlan.Reshape;
import org.distillery.jobs.export.NetworkPlan.Step;

/**
 * A {@link NetworkPlan} as an ONNX model: input {@value #INPUT} float [batch, features] (flat rows, as the transfer
 * set stores them) to output {@value #OUTPUT} float [batch, classes], raw logits.
 *
 * <p>fp32: Reshape (CNNs), Conv, MaxPool/AveragePool, Flatten and Gemm with the network's float weights, and the
 * activations. int8 (QDQ, the format ONNX Runtime's own quantizer writes and fuses into integer kernels such as
 * QLinearConv and QGemm): every weighted operation reads its input through QuantizeLinear -> DequantizeLinear at the
 * calibrated activation parameters, its weights as int8 per output channel and its bias as int32 through
 * DequantizeLinear; poolings and reshapes are requantized at their input's parameters; the logits stay float.
 */
final class OnnxExport {
    static final String INPUT = "features";
    static final String OUTPUT = "logits";

    private OnnxExport() {
    }

    static byte[] fp32(NetworkPlan plan, String version, Map<String, String> metadata) {
        return new Emitter(plan, null).write(version, metadata);
    }

    static byte[] int8(NetworkPlan plan, ActivationRanges ranges, String version, Map<String, String> metadata) {
        return new Emitter(plan, ranges).write(version, metadata);
    }

    /** One graph's construction; {@code ranges} null for fp32. */
    private static final class Emitter {
        private final NetworkPlan plan;
        private final ActivationRanges ranges;
        private final OnnxWriter w;
        private Quantization.Activation current; // the parameters the tensor in hand was last requantized at

        Emitter(NetworkPlan plan, ActivationRanges ranges) {
            this.plan = plan;
            this.ranges = ranges;
            this.w = new OnnxWriter(ranges == null ? "distillery_student" : "distillery_student_int8");
        }

        byte[] write(String version, Map<String, String> metadata) {
            w.input(w.fresh(INPUT), plan.inputs());
            w.fresh(OUTPUT);
            w.output(OUTPUT, plan.classes());
            String t = INPUT;
            if (ranges != null) {
                current = ranges.input();
                t = requantize(t, "input");
            }
            List<Step> steps = plan.steps();
            for (int i = 0; i < steps.size(); i++) {
                t = step(steps.get(i), t, i == steps.size() - 1);
            }
            return w.model(version, ranges == null ? "distillery student, float32"
                    : "distillery student, int8 (QDQ, static, per-channel weights)", metadata);
        }

        private String step(Step s, String t, boolean last) {
            String base = "layer" + s.layer();
            if (s instanceof Reshape r) {
                return same(w.node("Reshape", base + "_image", List.of(t, w.int64s(base + "_shape",
                        new long[] {-1, r.channels(), r.height(), r.width()}, 4))), base);
            }
            if (s instanceof Flatten) {
                return same(w.node("Flatten", base + "_flat", List.of(t), OnnxWriter.integer("axis", 1)), base);
            }
            if (s instanceof Pool p) {
                return same(pool(p, t, base), base);
            }
            if (s instanceof Conv c) {
                return after(c.layer(), c.activation(), conv(c, t, base), base, last);
            }
            if (s instanceof Dense d) {
                return after(d.layer(), d.activation(), dense(d, t, base, last), base, last);
            }
            Act a = (Act) s;
            return a.activation().identity() ? t : after(a.layer(), a.activation(), t, base, last);
        }

        /** A pooling or reshape: requantized at the parameters its input had. */
        private String same(String t, String base) {
            return current == null ? t : requantize(t, base + "_out");
        }

        /** A layer's activation, then (int8, not the last layer) its output requantized at its calibrated range. */
        private String after(int layer, NetworkPlan.Activation activation, String y, String base, boolean last) {
            String t = y;
            if (!activation.identity()) {
                var attributes = activation.op().equals("LeakyRelu")
                        ? new onnx.Onnx.AttributeProto[] {OnnxWriter.real("alpha", activation.alpha())}
                        : new onnx.Onnx.AttributeProto[0];
                t = last ? w.node(activation.op(), base, OUTPUT, List.of(y), attributes)
                        : w.node(activation.op(), base + "_" + activation.op().toLowerCase(), List.of(y), attributes);
            }
            if (ranges != null && !last) {
                current = ranges.output(layer);
                t = requantize(t, base + "_out");
            }
            return t;
        }

        private String pool(Pool p, String t, String base) {
            int[] pads = {p.padding()[0], p.padding()[1], p.padding()[0], p.padding()[1]};
            if (p.max()) {
                return w.node("MaxPool", base + "_pool", List.of(t), OnnxWriter.ints("kernel_shape", p.kernel()),
                        OnnxWriter.ints("strides", p.stride()), OnnxWriter.ints("pads", pads));
            }
            return w.node("AveragePool", base + "_pool", List.of(t), OnnxWriter.ints("kernel_shape", p.kernel()),
                    OnnxWriter.ints("strides", p.stride()), OnnxWriter.ints("pads", pads),
                    OnnxWriter.integer("count_include_pad", p.countIncludePad() ? 1 : 0));
        }

        private String conv(Conv c, String t, String base) {
            int out = c.outChannels();
            String[] wb = ranges == null
                    ? new String[] {w.floats(base + "_W", c.w(), c.shape()), w.floats(base + "_b", c.b(), out)}
                    : quantized(c.w(), c.shape(), c.b(), out, false, base);
            int[] pads = {c.padding()[0], c.padding()[1], c.padding()[0], c.padding()[1]};
            return w.node("Conv", base + "_conv", List.of(t, wb[0], wb[1]),
                    OnnxWriter.ints("kernel_shape", (int) c.shape()[2], (int) c.shape()[3]),
                    OnnxWriter.ints("strides", c.stride()), OnnxWriter.ints("pads", pads),
                    OnnxWriter.ints("dilations", c.dilation()));
        }

        private String dense(Dense d, String t, String base, boolean last) {
            String[] wb = ranges == null
                    ? new String[] {w.floats(base + "_W", d.w(), d.in(), d.out()), w.floats(base + "_b", d.b(), d.out())}
                    : quantized(d.w(), new long[] {d.in(), d.out()}, d.b(), d.out(), true, base);
            List<String> inputs = List.of(t, wb[0], wb[1]);
            return last && d.activation().identity() ? w.node("Gemm", base, OUTPUT, inputs)
                    : w.node("Gemm", base + "_gemm", inputs);
        }

        /**
         * Weights (int8, per output channel: axis 1 of a dense layer's [in, out], axis 0 of a convolution's
         * [out, in, kH, kW]) and bias (int32 at input scale x weight scale) through DequantizeLinear.
         */
        private String[] quantized(float[] weights, long[] shape, float[] bias, int channels, boolean channelLast,
                                   String base) {
            Quantization.Weights q = Quantization.perChannel(weights, channels, channelLast);
            String wq = w.node("DequantizeLinear", base + "_W", List.of(w.int8s(base + "_W_quantized", q.q(), shape),
                    w.floats(base + "_W_scale", q.scales(), channels),
                    w.int8s(base + "_W_zero_point", new byte[channels], channels)),
                    OnnxWriter.integer("axis", channelLast ? 1 : 0));
            int[] b = Quantization.bias(bias, current.scale(), q.scales());
            String bq = w.node("DequantizeLinear", base + "_b", List.of(w.int32s(base + "_b_quantized", b, channels),
                    w.floats(base + "_b_scale", Quantization.biasScales(current.scale(), q.scales()), channels),
                    w.int32s(base + "_b_zero_point", new int[channels], channels)), OnnxWriter.integer("axis", 0));
            return new String[] {wq, bq};
        }

        /** t -> QuantizeLinear -> DequantizeLinear at {@link #current}'s per-tensor parameters. */
        private String requantize(String t, String base) {
            String scale = w.floats(base + "_scale", new float[] {current.scale()});
            String zero = w.int8s(base + "_zero_point", new byte[] {current.zeroPoint()});
            String q = w.node("QuantizeLinear", base + "_quantized", List.of(t, scale, zero));
            return w.node("DequantizeLinear", base + "_dequantized", List.of(q, scale, zero));
        }
    }
}
