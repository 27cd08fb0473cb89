package org.distillery.model.schema;

import java.util.Arrays;
import java.util.List;
import org.distillery.model.text.CharVocabulary;
import org.distillery.model.text.Windowing;

/**
 * The text transfer-set table written by {@code ingest --format text} and read by the LM jobs, defined once: one row
 * per training window of a document ({@link Windowing}), tokens as ids of the character vocabulary the manifest
 * records ({@link CharVocabulary}).
 *
 * <p>Version 1 columns:
 * <ul>
 *   <li>{@code id} long, not null: the window's stable id, Spark SQL {@code xxhash64(document_key, window)} (seed
 *   42);</li>
 *   <li>{@code document} long, not null: the document's id, {@code xxhash64(document_key)} (seed 42): every window of
 *   a document is in the same split;</li>
 *   <li>{@code document_key} string, not null: where the document comes from, {@code FILE#ENTRY} (the file's
 *   qualified path and the entry's 1-based number in it);</li>
 *   <li>{@code window} int, not null: the window's index k in its document, from 0;</li>
 *   <li>{@code start} int, not null: the position of the window's first token in the document's token stream
 *   ({@code k x (T - B)});</li>
 *   <li>{@code tokens} array&lt;int&gt;, T + 1 ids: the inputs are {@code tokens[0, T)}, the next-token targets
 *   {@code tokens[1, T]}; past the document's end both are {@link CharVocabulary#BOUNDARY} padding;</li>
 *   <li>{@code scored_from}, {@code scored_to} int, not null: the positions [from, to) whose loss and metrics count
 *   (the mask); positions before {@code scored_from} are the masked burn-in, those from {@code scored_to} padding.</li>
 * </ul>
 *
 * <p>The manifest records the window length T ({@link #WINDOW_LENGTH}), the burn-in B ({@link #BURN_IN}) and the
 * vocabulary, built on the training split only: its code points ({@link #VOCABULARY}), size V
 * ({@link #VOCABULARY_SIZE}) and SHA-256 ({@link #VOCABULARY_SHA256}, {@link CharVocabulary#sha256()}), identical in
 * the manifests of the three splits. Readers take the vocabulary with {@link #vocabulary} (which checks the SHA-256)
 * and reject other schema versions ({@link #check}).
 */
public final class TextTransferSchema {
    public static final int VERSION = 1;
    public static final String ID = "id";
    public static final String DOCUMENT = "document";
    public static final String DOCUMENT_KEY = "document_key";
    public static final String WINDOW = "window";
    public static final String START = "start";
    public static final String TOKENS = "tokens";
    public static final String SCORED_FROM = "scored_from";
    public static final String SCORED_TO = "scored_to";
    /** The columns in table order. */
    public static final List<String> COLUMNS = List.of(ID, DOCUMENT, DOCUMENT_KEY, WINDOW, START, TOKENS, SCORED_FROM,
            SCORED_TO);
    /** Manifest fact keys. */
    public static final String SCHEMA_VERSION = "textSchemaVersion";
    public static final String WINDOW_LENGTH = "windowLength";
    public static final String BURN_IN = "burnIn";
    public static final String VOCABULARY = "vocabulary";
    public static final String VOCABULARY_SIZE = "vocabularySize";
    public static final String VOCABULARY_SHA256 = "vocabularySha256";

    private TextTransferSchema() {
    }

    /**
     * Checks that {@code m} describes a text transfer set of a version this build reads.
     *
     * @throws IllegalStateException naming the manifest otherwise
     */
    public static void check(Manifest m) {
        Object v = m.facts().get(SCHEMA_VERSION);
        if (!(v instanceof Number n) || n.intValue() != VERSION) {
            throw new IllegalStateException("manifest " + m.id() + " is not a text transfer set of schema version "
                    + VERSION + " (" + SCHEMA_VERSION + ": " + v + ")");
        }
    }

    /** The windowing a text manifest records. */
    public static Windowing windowing(Manifest m) {
        check(m);
        return new Windowing((int) m.number(WINDOW_LENGTH), (int) m.number(BURN_IN));
    }

    /**
     * The vocabulary a text manifest records, checked against its recorded size and SHA-256.
     *
     * @throws IllegalStateException naming the manifest when the code points are malformed or do not match
     */
    public static CharVocabulary vocabulary(Manifest m) {
        check(m);
        Object recorded = m.facts().get(VOCABULARY);
        if (!(recorded instanceof List<?> cps) || !cps.stream().allMatch(c -> c instanceof Number)) {
            throw new IllegalStateException("manifest " + m.id() + " has a malformed " + VOCABULARY + ": " + recorded);
        }
        CharVocabulary v;
        try {
            v = CharVocabulary.of(cps.stream().map(c -> ((Number) c).intValue()).toList());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("manifest " + m.id() + ": " + e.getMessage());
        }
        if (!v.sha256().equals(m.text(VOCABULARY_SHA256)) || v.size() != (int) m.number(VOCABULARY_SIZE)) {
            throw new IllegalStateException("manifest " + m.id() + ": its vocabulary hashes to " + v.sha256() + " ("
                    + v.size() + " ids), but it records " + m.text(VOCABULARY_SHA256) + " ("
                    + (int) m.number(VOCABULARY_SIZE) + " ids)");
        }
        return v;
    }

    /** One stored window as {@link Windowing} cut it: {@code tokens} T + 1 ids, scored [from, to). */
    public static Windowing.Window window(int index, int start, int[] tokens, int scoredFrom, int scoredTo) {
        int t = tokens.length - 1;
        if (t < 1 || scoredFrom < 0 || scoredFrom > scoredTo || scoredTo > t) {
            throw new IllegalArgumentException("window " + index + " of " + tokens.length + " tokens cannot score ["
                    + scoredFrom + ", " + scoredTo + ")");
        }
        return new Windowing.Window(index, start, Arrays.copyOfRange(tokens, 0, t),
                Arrays.copyOfRange(tokens, 1, t + 1), scoredFrom, scoredTo);
    }

    /** The stored form of {@code w}: its inputs followed by its last target (T + 1 ids). */
    public static int[] tokens(Windowing.Window w) {
        int[] tokens = Arrays.copyOf(w.inputs(), w.inputs().length + 1);
        tokens[tokens.length - 1] = w.targets()[w.targets().length - 1];
        return tokens;
    }
}
