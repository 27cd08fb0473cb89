package org.distillery.model.schema;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How one soft-target output stores its logits ({@link SoftTargetSchema} version 2): the precision of the stored
 * values, how many of the C logits are kept ({@code topK} = C: all, densely in class order) and whether the
 * {@code soft} column is there. Version 1 outputs have the layout {@link #v1}.
 *
 * @param classes   C, the teacher's class count
 * @param precision how logit values are stored
 * @param topK      K in [1, C]: the K largest logits are kept; K = C stores every logit densely
 * @param soft      whether the {@code soft} column (softmax(logits / T), fp32, C values) is stored
 * @param hintLayer the index of the teacher layer whose activations the {@code hint} column holds, -1 when none
 * @param hintWidth that layer's width (0 when none)
 */
public record SoftTargetLayout(int classes, Precision precision, int topK, boolean soft, int hintLayer, int hintWidth)
        implements Serializable {
    private static final long serialVersionUID = 1L;

    /** How logit values are stored: fp32 as array&lt;float&gt;, fp16 as little-endian IEEE half floats in a binary. */
    public enum Precision {
        FP32, FP16;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** {@code fp32} or {@code fp16}; anything else is an error naming the value. */
        public static Precision parse(String s) {
            for (Precision p : values()) {
                if (p.id().equals(s)) {
                    return p;
                }
            }
            throw new IllegalArgumentException("precision must be fp32 or fp16, got '" + s + "'");
        }
    }

    public SoftTargetLayout {
        if (classes < 1) {
            throw new IllegalArgumentException("class count must be >= 1, got " + classes);
        }
        if (precision == null) {
            throw new IllegalArgumentException("precision must be fp32 or fp16, got none");
        }
        if (topK < 1 || topK > classes) {
            throw new IllegalArgumentException("top-k must be in [1, " + classes + "] (the teacher's class count), got "
                    + topK);
        }
        if (hintLayer < -1 || (hintLayer >= 0) != (hintWidth > 0) || hintWidth < 0) {
            throw new IllegalArgumentException("hint layer and width must be both set or neither, got layer "
                    + hintLayer + " of width " + hintWidth);
        }
    }

    /** A layout without a stored teacher layer. */
    public SoftTargetLayout(int classes, Precision precision, int topK, boolean soft) {
        this(classes, precision, topK, soft, -1, 0);
    }

    /** This layout plus the activations of teacher layer {@code layer} ({@code width} values) in the hint column. */
    public SoftTargetLayout withHint(int layer, int width) {
        return new SoftTargetLayout(classes, precision, topK, soft, layer, width);
    }

    /** Whether the {@code hint} column is stored. */
    public boolean hasHint() {
        return hintWidth > 0;
    }

    /** Version 1's layout: every logit in fp32, and the soft column. */
    public static SoftTargetLayout v1(int classes) {
        return new SoftTargetLayout(classes, Precision.FP32, classes, true);
    }

    /**
     * The layout a label run asks for; null means the default: fp32, every class, and the soft column for fp32 without
     * top-k (as version 1).
     */
    public static SoftTargetLayout of(int classes, String precision, Integer topK, Boolean soft) {
        Precision p = precision == null ? Precision.FP32 : Precision.parse(precision);
        int k = topK == null ? classes : topK;
        return new SoftTargetLayout(classes, p, k, soft != null ? soft : p == Precision.FP32 && k == classes);
    }

    /** The layout of a published soft-target output, from its manifest (schema version checked). */
    public static SoftTargetLayout read(Manifest m, String where) {
        int version = (int) m.number(SoftTargetSchema.SCHEMA_VERSION);
        SoftTargetSchema.checkVersion(version, where);
        int classes = (int) m.number(SoftTargetSchema.CLASSES);
        if (version == SoftTargetSchema.V1) {
            return v1(classes);
        }
        Object soft = m.facts().get(SoftTargetSchema.SOFT_STORED);
        if (!(soft instanceof Boolean stored)) {
            throw new IllegalStateException("manifest " + m.id() + " of " + where + " has no boolean fact '"
                    + SoftTargetSchema.SOFT_STORED + "'");
        }
        Object hintLayer = m.facts().get(SoftTargetSchema.HINT_LAYER); // absent before hints existed
        try {
            return new SoftTargetLayout(classes, Precision.parse(m.text(SoftTargetSchema.PRECISION)),
                    (int) m.number(SoftTargetSchema.TOP_K), stored,
                    hintLayer == null ? -1 : ((Number) hintLayer).intValue(),
                    hintLayer == null ? 0 : (int) m.number(SoftTargetSchema.HINT_WIDTH));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("corrupt soft-target manifest " + m.id() + " of " + where + ": "
                    + e.getMessage());
        }
    }

    /** True when only the K largest logits and the tail's log-sum-exp are stored. */
    public boolean topKOnly() {
        return topK < classes;
    }

    /** The schema version this layout needs: 1 when version 1 describes it, else 2. */
    public int version() {
        return equals(v1(classes)) ? SoftTargetSchema.V1 : SoftTargetSchema.VERSION;
    }

    /** The columns that hold the logits, in table order. */
    public List<String> logitColumns() {
        return topKOnly() ? List.of(SoftTargetSchema.TOPK_INDEX, SoftTargetSchema.TOPK_LOGIT, SoftTargetSchema.TAIL_LSE)
                : List.of(SoftTargetSchema.LOGITS);
    }

    /** Every column, in table order. */
    public List<String> columns() {
        List<String> c = new ArrayList<>(List.of(SoftTargetSchema.ID, SoftTargetSchema.LABEL));
        c.addAll(logitColumns());
        if (soft) {
            c.add(SoftTargetSchema.SOFT);
        }
        if (hasHint()) {
            c.add(SoftTargetSchema.HINT);
        }
        return c;
    }

    /** The manifest facts that record this layout. */
    public Map<String, Object> facts() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put(SoftTargetSchema.SCHEMA_VERSION, version());
        f.put(SoftTargetSchema.PRECISION, precision.id());
        f.put(SoftTargetSchema.TOP_K, topK);
        f.put(SoftTargetSchema.SOFT_STORED, soft);
        if (hasHint()) {
            f.put(SoftTargetSchema.HINT_LAYER, hintLayer);
            f.put(SoftTargetSchema.HINT_WIDTH, hintWidth);
        }
        return f;
    }

    /** One line for plans and logs, e.g. {@code fp16, top 10 of 1000 logits + tail_lse, no soft column (schema v2)}. */
    public String describe() {
        return precision.id() + ", " + (topKOnly() ? "top " + topK + " of " + classes + " logits + tail_lse"
                : "all " + classes + " logits") + ", " + (soft ? "soft column" : "no soft column")
                + (hasHint() ? ", hint = teacher layer " + hintLayer + " (" + hintWidth + " values)" : "")
                + " (schema v" + version() + ")";
    }
}
