package org.distillery.model.schema;

import java.util.List;

/**
 * The transfer-set table written by ingest and read by label, train and evaluate. Version 1 columns:
 * {@code id} long not null (stable), {@code features} array&lt;float&gt; (one example's values, flattened in
 * row-major order), {@code label} int nullable.
 */
public final class TransferSchema {
    public static final int VERSION = 1;
    public static final String ID = "id";
    public static final String FEATURES = "features";
    public static final String LABEL = "label";
    /** Manifest fact keys. */
    public static final String FEATURE_COUNT = "featureCount";
    public static final String CLASSES = "classes";
    public static final String SCHEMA_VERSION = "transferSchemaVersion";
    /**
     * The shape of one example, without the batch axis: {@code [n_features]} for a vector, {@code [C, H, W]}
     * (channels first) for an image, e.g. {@code [1, 28, 28]} for Fashion-MNIST. The features column holds the
     * example flattened in row-major order of this shape.
     */
    public static final String SHAPE = "exampleShape";
    /**
     * The name of each class, in index order: a label {@code c} in the table means {@code classNames[c]}. Ingest
     * records it (string labels mapped to indices, or the names given with {@code --classes}); reports and notebooks
     * show it.
     */
    public static final String CLASS_NAMES = "classNames";
    /** The preprocessing applied to the stored features ({@link FeatureTransform#facts()}). */
    public static final String PREPROCESSING = "preprocessing";

    private TransferSchema() {
    }

    /**
     * The example shape a transfer manifest records, or {@code [featureCount]} for one that records none (written
     * before the shape was recorded).
     *
     * @throws IllegalStateException when the recorded shape is malformed or does not multiply to featureCount
     */
    public static int[] shape(Manifest m) {
        int features = (int) m.number(FEATURE_COUNT);
        Object recorded = m.facts().get(SHAPE);
        if (recorded == null) {
            return new int[] {features};
        }
        if (!(recorded instanceof List<?> dims) || dims.isEmpty()
                || !dims.stream().allMatch(d -> d instanceof Number n && n.intValue() > 0)) {
            throw new IllegalStateException("manifest " + m.id() + " has a malformed " + SHAPE + ": " + recorded);
        }
        int[] shape = dims.stream().mapToInt(d -> ((Number) d).intValue()).toArray();
        long product = 1;
        for (int d : shape) {
            product *= d;
        }
        if (product != features) {
            throw new IllegalStateException("manifest " + m.id() + ": " + SHAPE + " " + describe(shape)
                    + " holds " + product + " values, but " + FEATURE_COUNT + " is " + features);
        }
        return shape;
    }

    /**
     * The class names a manifest records (a transfer manifest, or a label manifest that carries its transfer set's),
     * or {@code "0" .. "C-1"} for one that records none.
     *
     * @throws IllegalStateException when the recorded names are malformed or do not match the class count
     */
    public static List<String> classNames(Manifest m) {
        int classes = (int) m.number(CLASSES);
        Object recorded = m.facts().get(CLASS_NAMES);
        if (recorded == null) {
            return java.util.stream.IntStream.range(0, classes).mapToObj(Integer::toString).toList();
        }
        if (!(recorded instanceof List<?> names) || names.size() != classes
                || !names.stream().allMatch(n -> n instanceof String)) {
            throw new IllegalStateException("manifest " + m.id() + " has malformed " + CLASS_NAMES + " for " + classes
                    + " classes: " + recorded);
        }
        return names.stream().map(String.class::cast).toList();
    }

    /** A shape as written in messages: {@code [1, 28, 28]}. */
    public static String describe(int[] shape) {
        return java.util.Arrays.toString(shape);
    }
}
