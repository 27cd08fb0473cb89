package org.distillery.model.schema;

/**
 * The soft-target table written by the label job, defined once.
 *
 * <p>Version 1 columns:
 * <ul>
 *   <li>{@code id} long, not null: the transfer row's stable id</li>
 *   <li>{@code label} int, nullable: the transfer row's hard label, when it has one</li>
 *   <li>{@code logits} array&lt;float&gt;, C values: the teacher's raw logits (before softmax)</li>
 *   <li>{@code soft} array&lt;float&gt;, C values: softmax(logits / T) at the manifest's temperature</li>
 *   <li>{@code input_hash} long: a 64-bit hash of the transfer row's features and label, so that an incremental
 *       relabel knows which rows changed (absent from outputs written before incremental labeling existed)</li>
 * </ul>
 *
 * <p>Version 2 stores the logits as the manifest's facts {@link #PRECISION}, {@link #TOP_K} and {@link #SOFT_STORED}
 * say ({@link SoftTargetLayout}): {@code id} and {@code label} as in version 1, then either
 * <ul>
 *   <li>all C logits ({@code topK} = C): {@code logits}, array&lt;float&gt;[C] for fp32 or, for fp16, binary of
 *       2 x C bytes (IEEE 754 half floats, little-endian, class order); or</li>
 *   <li>the K largest ({@code topK} = K &lt; C), largest first, ties to the lower class: {@code topk_index}
 *       array&lt;int&gt;[K], {@code topk_logit} (array&lt;float&gt;[K] for fp32, binary of 2 x K bytes for fp16) and
 *       {@code tail_lse} float, the log-sum-exp of the C - K raw logits left out, so the probability mass they carry at
 *       T = 1 is exactly exp(tail_lse - logsumexp(all logits));</li>
 * </ul>
 * and {@code soft} array&lt;float&gt;[C] only when {@code softStored}: softmax(z / T) of the teacher's full-precision
 * logits, then {@code hint} array&lt;float&gt;[{@link #HINT_WIDTH}] only when the manifest has {@link #HINT_LAYER}:
 * the activations of that teacher layer (FitNets hints, relation targets). Raw logits (or what is kept of them) are always enough to re-temper, so readers never need {@code soft};
 * {@link SoftTargetCodec} turns any stored row back into dense logits. The label job writes version 1 when the layout
 * is version 1's (fp32, every class, soft stored: the default), version 2 otherwise.
 *
 * <p>The temperature and class count live in the manifest ({@link #TEMPERATURE}, {@link #CLASSES}); readers accept
 * versions 1 and 2 and reject any other.
 */
public final class SoftTargetSchema {
    /** The newest version, the one this build writes for layouts version 1 cannot describe. */
    public static final int VERSION = 2;
    /** The first version: dense fp32 logits and the soft column, no layout facts. */
    public static final int V1 = 1;
    public static final String ID = "id";
    public static final String LABEL = "label";
    public static final String LOGITS = "logits";
    public static final String SOFT = "soft";
    public static final String INPUT_HASH = "input_hash";
    public static final String TOPK_INDEX = "topk_index";
    public static final String TOPK_LOGIT = "topk_logit";
    public static final String TAIL_LSE = "tail_lse";
    public static final String HINT = "hint";
    /** Manifest fact keys. */
    public static final String TEMPERATURE = "temperature";
    public static final String CLASSES = "classes";
    public static final String SCHEMA_VERSION = "softTargetSchemaVersion";
    /** Manifest fact keys of the storage layout (version 2; the label job records them in every manifest). */
    public static final String PRECISION = "precision";
    public static final String TOP_K = "topK";
    public static final String SOFT_STORED = "softStored";
    /** Manifest fact keys of the stored teacher layer (version 2, only when there is one). */
    public static final String HINT_LAYER = "hintLayer";
    public static final String HINT_WIDTH = "hintWidth";

    private SoftTargetSchema() {
    }

    /** Fails unless {@code version} is one this code reads. */
    public static void checkVersion(int version, String where) {
        if (version < V1 || version > VERSION) {
            throw new IllegalStateException("unsupported soft-target schema version " + version + " in " + where
                    + " (this build reads versions " + V1 + " and " + VERSION + ")");
        }
    }
}
