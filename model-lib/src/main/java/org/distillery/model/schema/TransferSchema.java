package org.distillery.model.schema;

/**
 * The transfer-set table written by ingest and read by label, train and evaluate. Version 1 columns:
 * {@code id} long not null (stable), {@code features} array&lt;float&gt; (784 values in [0, 1] for Fashion-MNIST),
 * {@code label} int nullable.
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

    private TransferSchema() {
    }
}
