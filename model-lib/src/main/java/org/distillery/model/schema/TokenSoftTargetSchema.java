package org.distillery.model.schema;

import java.util.ArrayList;
import java.util.List;

/**
 * The token-level soft-target table written by the label job over a text transfer set ({@link TextTransferSchema})
 * with a teacher LM, defined once: one row per window, holding the window as the transfer set stores it and the
 * teacher's next-token logits at each of its scored positions, in the storage layout of {@link SoftTargetSchema}
 * version 2 ({@link SoftTargetLayout}: C = V, the vocabulary size; no {@code soft} column, no hint) applied position by
 * position with {@link SoftTargetCodec}, and the values of a window's positions concatenated.
 *
 * <p>Version 1 columns, P = {@code scored_to - scored_from} scored positions per window, K = {@code topK}:
 * <ul>
 *   <li>{@code id} long, not null: the window's id in the text transfer set;</li>
 *   <li>{@code document} long, {@code window} int, {@code tokens} array&lt;int&gt;[T + 1], {@code scored_from},
 *   {@code scored_to} int: copied from the transfer set (inputs {@code tokens[0, T)}, targets {@code tokens[1, T]}),
 *   so a trainer needs this table alone;</li>
 *   <li>for a top-K layout (K &lt; V): {@code topk_index} array&lt;int&gt;[P x K], {@code topk_logit}
 *   (array&lt;float&gt;[P x K] for fp32, binary of 2 x P x K bytes for fp16: little-endian IEEE half floats) and
 *   {@code tail_lse} array&lt;float&gt;[P]; position p = t - scored_from holds entries [p K, (p + 1) K): the K largest
 *   raw logits of position t, largest first (ties to the lower id), and the log-sum-exp of its V - K other logits;</li>
 *   <li>for a dense layout (K = V): {@code logits} (array&lt;float&gt;[P x V] for fp32, binary of 2 x P x V bytes for
 *   fp16), position p's logits in vocabulary order at [p V, (p + 1) V);</li>
 *   <li>{@code teacher_nll} double: the sum over the scored positions of -ln p(target), softmax of the teacher's
 *   full-precision logits at T = 1 (the teacher's likelihood of the window's text, whatever the layout keeps);</li>
 *   <li>{@code teacher_entropy} double: the sum over the scored positions of the entropy of that softmax, in nats;</li>
 *   <li>{@code input_hash} long: Spark SQL {@code xxhash64(tokens, scored_from, scored_to)} (seed 42), so that an
 *   incremental relabel knows which windows changed.</li>
 * </ul>
 * Logits are stored raw (before any temperature): a reader re-tempers them at its own T; {@link TokenSoftTargetCodec}
 * turns a row's stored values back into dense logits per position or into per-position top-K arrays.
 *
 * <p>Manifest facts: {@link #SCHEMA_VERSION}; the layout as {@link SoftTargetLayout#facts()} records it minus
 * {@code softTargetSchemaVersion} ({@link SoftTargetSchema#PRECISION}, {@link SoftTargetSchema#TOP_K},
 * {@link SoftTargetSchema#SOFT_STORED} = false); {@link SoftTargetSchema#TEMPERATURE} (the trainer's default T);
 * {@link TextTransferSchema#VOCABULARY_SIZE} V, {@link TextTransferSchema#VOCABULARY_SHA256},
 * {@link TextTransferSchema#WINDOW_LENGTH} and {@link TextTransferSchema#BURN_IN} as the transfer set records them;
 * {@code teacherSha256} and {@code teacherOutput} (the ONNX output read, or null). Readers check the version with
 * {@link #check} and read the layout with {@link #layout}.
 */
public final class TokenSoftTargetSchema {
    public static final int VERSION = 1;
    public static final String ID = "id";
    public static final String DOCUMENT = TextTransferSchema.DOCUMENT;
    public static final String WINDOW = TextTransferSchema.WINDOW;
    public static final String TOKENS = TextTransferSchema.TOKENS;
    public static final String SCORED_FROM = TextTransferSchema.SCORED_FROM;
    public static final String SCORED_TO = TextTransferSchema.SCORED_TO;
    public static final String TOPK_INDEX = SoftTargetSchema.TOPK_INDEX;
    public static final String TOPK_LOGIT = SoftTargetSchema.TOPK_LOGIT;
    public static final String TAIL_LSE = SoftTargetSchema.TAIL_LSE;
    public static final String LOGITS = SoftTargetSchema.LOGITS;
    public static final String TEACHER_NLL = "teacher_nll";
    public static final String TEACHER_ENTROPY = "teacher_entropy";
    public static final String INPUT_HASH = SoftTargetSchema.INPUT_HASH;
    /** Manifest fact keys. */
    public static final String SCHEMA_VERSION = "tokenSoftTargetSchemaVersion";
    public static final String TEACHER_SHA256 = "teacherSha256";
    public static final String TEACHER_OUTPUT = "teacherOutput";

    private TokenSoftTargetSchema() {
    }

    /** The columns of an output of {@code layout}, in table order. */
    public static List<String> columns(SoftTargetLayout layout) {
        List<String> c = new ArrayList<>(List.of(ID, DOCUMENT, WINDOW, TOKENS, SCORED_FROM, SCORED_TO));
        c.addAll(layout.logitColumns());
        c.addAll(List.of(TEACHER_NLL, TEACHER_ENTROPY, INPUT_HASH));
        return c;
    }

    /** The layout of V = {@code vocabulary} tokens a label run asks for (null: fp32, every token). No soft column. */
    public static SoftTargetLayout layout(int vocabulary, String precision, Integer topK) {
        return SoftTargetLayout.of(vocabulary, precision, topK, false);
    }

    /** Whether {@code m} is the manifest of token-level soft targets (of any version). */
    public static boolean is(Manifest m) {
        return m.facts().containsKey(SCHEMA_VERSION);
    }

    /**
     * Checks that {@code m} describes token-level soft targets of a version this build reads.
     *
     * @throws IllegalStateException naming the manifest otherwise
     */
    public static void check(Manifest m, String where) {
        Object v = m.facts().get(SCHEMA_VERSION);
        if (!(v instanceof Number n) || n.intValue() != VERSION) {
            throw new IllegalStateException("manifest " + m.id() + " of " + where + " is not token-level soft targets"
                    + " of schema version " + VERSION + " (" + SCHEMA_VERSION + ": " + v + ")");
        }
    }

    /** The storage layout a token soft-target manifest records (version checked). */
    public static SoftTargetLayout layout(Manifest m, String where) {
        check(m, where);
        try {
            return new SoftTargetLayout((int) m.number(TextTransferSchema.VOCABULARY_SIZE),
                    SoftTargetLayout.Precision.parse(m.text(SoftTargetSchema.PRECISION)),
                    (int) m.number(SoftTargetSchema.TOP_K), false);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("corrupt token soft-target manifest " + m.id() + " of " + where + ": "
                    + e.getMessage());
        }
    }

    /** The manifest facts that record {@code layout} for this schema. */
    public static java.util.Map<String, Object> facts(SoftTargetLayout layout) {
        java.util.Map<String, Object> f = new java.util.LinkedHashMap<>();
        f.put(SCHEMA_VERSION, VERSION);
        f.put(SoftTargetSchema.PRECISION, layout.precision().id());
        f.put(SoftTargetSchema.TOP_K, layout.topK());
        f.put(SoftTargetSchema.SOFT_STORED, false);
        f.put(TextTransferSchema.VOCABULARY_SIZE, layout.classes());
        return f;
    }
}
