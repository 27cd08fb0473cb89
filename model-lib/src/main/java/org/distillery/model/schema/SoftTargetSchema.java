package org.distillery.model.schema;

/**
 * The soft-target table written by the label job, defined once. Version 1 columns:
 * <ul>
 *   <li>{@code id} long, not null: the transfer row's stable id</li>
 *   <li>{@code label} int, nullable: the transfer row's hard label, when it has one</li>
 *   <li>{@code logits} array&lt;float&gt;, C values: the teacher's raw logits (before softmax)</li>
 *   <li>{@code soft} array&lt;float&gt;, C values: softmax(logits / T) at the manifest's temperature</li>
 *   <li>{@code input_hash} long: a 64-bit hash of the transfer row's features and label, so that an incremental
 *       relabel knows which rows changed (absent from outputs written before incremental labeling existed)</li>
 * </ul>
 * The temperature and class count live in the manifest ({@link #TEMPERATURE}, {@link #CLASSES}); readers must reject
 * other versions.
 */
public final class SoftTargetSchema {
    public static final int VERSION = 1;
    public static final String ID = "id";
    public static final String LABEL = "label";
    public static final String LOGITS = "logits";
    public static final String SOFT = "soft";
    public static final String INPUT_HASH = "input_hash";
    /** Manifest fact keys. */
    public static final String TEMPERATURE = "temperature";
    public static final String CLASSES = "classes";
    public static final String SCHEMA_VERSION = "softTargetSchemaVersion";

    private SoftTargetSchema() {
    }

    /** Fails unless {@code version} is one this code reads. */
    public static void checkVersion(int version, String where) {
        if (version != VERSION) {
            throw new IllegalStateException("unsupported soft-target schema version " + version + " in " + where
                    + " (this build reads version " + VERSION + ")");
        }
    }
}
