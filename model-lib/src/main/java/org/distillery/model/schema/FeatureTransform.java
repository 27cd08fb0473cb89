package org.distillery.model.schema;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The preprocessing ingest applied to every stored feature, recorded in each split's manifest (fact
 * {@value TransferSchema#PREPROCESSING}) so that a consumer of raw values, e.g. an exported student, applies exactly
 * the same transform. In float32 arithmetic, feature {@code j} of a row is
 * <pre>
 *   x = (raw * scaleNumerator) / scaleDenominator
 *   x = (x - mean[j]) / std[j]          only when standardized
 * </pre>
 * with the constants as recorded (float32 values). {@code --scale 1/255} is numerator 1 and denominator 255, so a
 * pixel becomes {@code pixel / 255f}, bit for bit what the IDX ingest always stored. Standardization statistics are
 * fitted on the training split only; a constant column gets std 1 (centred, not scaled).
 *
 * @param scale            the scale as declared ("1/255", "0.5", "1")
 * @param scaleNumerator   multiplies the raw value
 * @param scaleDenominator divides the product
 * @param mean             per-feature mean subtracted after scaling, or null when not standardized
 * @param std              per-feature divisor after centring (never 0), or null when not standardized
 */
public record FeatureTransform(String scale, float scaleNumerator, float scaleDenominator, float[] mean, float[] std)
        implements java.io.Serializable {
    public static final FeatureTransform IDENTITY = scale("1");

    public FeatureTransform {
        Objects.requireNonNull(scale, "scale");
        if (!Float.isFinite(scaleNumerator) || !Float.isFinite(scaleDenominator) || scaleNumerator == 0
                || scaleDenominator == 0) {
            throw new IllegalArgumentException("scale must be a finite, non-zero number or fraction, got '" + scale + "'");
        }
        if ((mean == null) != (std == null) || mean != null && mean.length != std.length) {
            throw new IllegalArgumentException("standardization needs a mean and a std per feature");
        }
        if (std != null) {
            for (int j = 0; j < std.length; j++) {
                if (!(std[j] > 0) || !Float.isFinite(std[j]) || !Float.isFinite(mean[j])) {
                    throw new IllegalArgumentException("standardization of feature " + j + " needs a finite mean and"
                            + " a positive std, got " + mean[j] + " and " + std[j]);
                }
            }
        }
    }

    /**
     * A scale written as a number ({@code 0.5}) or a fraction ({@code 1/255}); applied as multiply-then-divide in
     * float32, so a fraction divides exactly rather than multiplying by a rounded reciprocal.
     */
    public static FeatureTransform scale(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("scale must be a number or a fraction like 1/255, got '" + text + "'");
        }
        String[] parts = text.strip().split("/", -1);
        if (parts.length > 2) {
            throw new IllegalArgumentException("scale must be a number or a fraction like 1/255, got '" + text + "'");
        }
        try {
            float num = Float.parseFloat(parts[0].strip());
            float den = parts.length == 2 ? Float.parseFloat(parts[1].strip()) : 1f;
            return new FeatureTransform(text.strip(), num, den, null, null);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("scale must be a number or a fraction like 1/255, got '" + text + "'");
        }
    }

    /** This scale followed by standardization with the given per-feature statistics. */
    public FeatureTransform standardized(float[] mean, float[] std) {
        return new FeatureTransform(scale, scaleNumerator, scaleDenominator, mean.clone(), std.clone());
    }

    public boolean standardizes() {
        return mean != null;
    }

    /** Feature {@code j} of a row, transformed. */
    public float apply(int j, float raw) {
        float x = raw * scaleNumerator / scaleDenominator;
        return mean == null ? x : (x - mean[j]) / std[j];
    }

    /** A row, transformed into a new array. */
    public float[] apply(float[] raw) {
        return applyInPlace(raw.clone());
    }

    /** A row, transformed in place; returns {@code x}. */
    public float[] applyInPlace(float[] x) {
        for (int j = 0; j < x.length; j++) {
            x[j] = apply(j, x[j]);
        }
        return x;
    }

    /** The manifest fact: the declared scale, its float32 constants and, when standardized, mean and std. */
    public Map<String, Object> facts() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("scale", scale);
        m.put("scaleNumerator", scaleNumerator);
        m.put("scaleDenominator", scaleDenominator);
        m.put("formula", mean == null ? "x = raw * scaleNumerator / scaleDenominator (float32)"
                : "x = (raw * scaleNumerator / scaleDenominator - mean[j]) / std[j] (float32)");
        if (mean != null) {
            m.put("standardize", Map.of("fittedOn", "train", "mean", mean, "std", std));
        }
        return m;
    }

    /** The transform a transfer manifest records, or null when it records none (written before it was recorded). */
    public static FeatureTransform of(Manifest m) {
        Object fact = m.facts().get(TransferSchema.PREPROCESSING);
        if (fact == null) {
            return null;
        }
        try {
            Map<?, ?> p = (Map<?, ?>) fact;
            FeatureTransform t = new FeatureTransform((String) p.get("scale"), number(p.get("scaleNumerator")),
                    number(p.get("scaleDenominator")), null, null);
            if (p.get("standardize") instanceof Map<?, ?> s) {
                t = t.standardized(floats(s.get("mean")), floats(s.get("std")));
            }
            return t;
        } catch (ClassCastException | NullPointerException | IllegalArgumentException e) {
            throw new IllegalStateException("manifest " + m.id() + " has a malformed " + TransferSchema.PREPROCESSING
                    + ": " + fact);
        }
    }

    private static float number(Object o) {
        return ((Number) o).floatValue();
    }

    private static float[] floats(Object o) {
        List<?> list = o instanceof float[] a ? boxed(a) : (List<?>) o;
        float[] f = new float[list.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = number(list.get(i));
        }
        return f;
    }

    private static List<Float> boxed(float[] a) {
        List<Float> l = new ArrayList<>(a.length);
        for (float v : a) {
            l.add(v);
        }
        return l;
    }

    /** One line for logs and plans: {@code scale 1/255, standardized (fitted on train)}. */
    public String describe() {
        return "scale " + scale + (mean == null ? "" : ", standardized per feature (fitted on train)");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FeatureTransform t && scale.equals(t.scale)
                && Float.compare(scaleNumerator, t.scaleNumerator) == 0
                && Float.compare(scaleDenominator, t.scaleDenominator) == 0
                && Arrays.equals(mean, t.mean) && Arrays.equals(std, t.std);
    }

    @Override
    public int hashCode() {
        return Objects.hash(scale, scaleNumerator, scaleDenominator, Arrays.hashCode(mean), Arrays.hashCode(std));
    }

    @Override
    public String toString() {
        return describe();
    }
}
