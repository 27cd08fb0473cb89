package org.distillery.jobs.export;

/**
 * The arithmetic of post-training static int8 quantization, as ONNX's QuantizeLinear defines it: q = saturate(round(x
 * / scale) + zero_point), x' = (q - zero_point) * scale, rounding half to even.
 *
 * <ul>
 *   <li>weights: per output channel, symmetric (zero point 0), scale = max |w| / 127, so q is in [-127, 127];</li>
 *   <li>activations: per tensor, asymmetric int8, over the calibrated range widened to hold 0 (so that 0, ReLU's floor
 *   and the convolutions' zero padding, is exact): scale = (hi - lo) / 255, zero point = round(-128 - lo / scale);</li>
 *   <li>biases: int32 with scale = input scale x the channel's weight scale and zero point 0, so that an integer
 *   kernel adds them to its int32 accumulator as they are.</li>
 * </ul>
 */
final class Quantization {
    static final int WEIGHT_MAX = 127;

    private Quantization() {
    }

    /** A weight tensor quantized per output channel: {@code q} in the weights' layout, one scale per channel. */
    record Weights(byte[] q, float[] scales) {
    }

    /** An activation's calibrated range and its int8 parameters. */
    record Activation(float lo, float hi, float scale, byte zeroPoint) {
        /** The parameters for values seen in [lo, hi]. */
        static Activation of(float lo, float hi) {
            if (!(Float.isFinite(lo) && Float.isFinite(hi) && lo <= hi)) {
                throw new IllegalStateException("calibration range must be finite with lo <= hi, got [" + lo + ", "
                        + hi + "]");
            }
            float min = Math.min(lo, 0f);
            float max = Math.max(hi, 0f);
            if (max == min) {
                return new Activation(lo, hi, 1f, (byte) -128); // only zeros were seen
            }
            float scale = (max - min) / 255f;
            long zero = Math.round(-128 - min / (double) scale);
            return new Activation(lo, hi, scale, (byte) Math.max(-128, Math.min(127, zero)));
        }

        /** x quantized and dequantized, as QuantizeLinear then DequantizeLinear compute it. */
        float roundTrip(float x) {
            long q = Math.max(-128, Math.min(127, (long) Math.rint(x / scale) + zeroPoint));
            return (q - zeroPoint) * scale;
        }
    }

    /**
     * {@code w} quantized per channel, symmetric. {@code channels} is the size of the channel axis; with
     * {@code channelLast} the channel is the fastest-varying index (a dense layer's [in, out]), else the slowest (a
     * convolution's [out, in, kH, kW]).
     */
    static Weights perChannel(float[] w, int channels, boolean channelLast) {
        if (channels <= 0 || w.length % channels != 0) {
            throw new IllegalStateException(w.length + " weights do not split into " + channels + " channels");
        }
        int per = w.length / channels;
        float[] maxAbs = new float[channels];
        for (int i = 0; i < w.length; i++) {
            int c = channel(i, channels, per, channelLast);
            maxAbs[c] = Math.max(maxAbs[c], Math.abs(w[i]));
        }
        float[] scales = new float[channels];
        for (int c = 0; c < channels; c++) {
            scales[c] = maxAbs[c] == 0 ? 1f : maxAbs[c] / WEIGHT_MAX; // an all-zero channel stays zero at any scale
        }
        byte[] q = new byte[w.length];
        for (int i = 0; i < w.length; i++) {
            long v = (long) Math.rint(w[i] / scales[channel(i, channels, per, channelLast)]);
            q[i] = (byte) Math.max(-WEIGHT_MAX, Math.min(WEIGHT_MAX, v));
        }
        return new Weights(q, scales);
    }

    private static int channel(int i, int channels, int per, boolean channelLast) {
        return channelLast ? i % channels : i / per;
    }

    /** The bias as int32 at scale {@code inputScale * weightScales[c]} (zero point 0), saturated to int32. */
    static int[] bias(float[] b, float inputScale, float[] weightScales) {
        float[] scales = biasScales(inputScale, weightScales);
        int[] q = new int[b.length];
        for (int c = 0; c < b.length; c++) {
            double v = Math.rint(b[c] / (double) scales[c]);
            q[c] = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v));
        }
        return q;
    }

    /** The scales of a bias quantized by {@link #bias}: float32, as DequantizeLinear reads them. */
    static float[] biasScales(float inputScale, float[] weightScales) {
        float[] s = new float[weightScales.length];
        for (int c = 0; c < s.length; c++) {
            s[c] = inputScale * weightScales[c];
        }
        return s;
    }
}
