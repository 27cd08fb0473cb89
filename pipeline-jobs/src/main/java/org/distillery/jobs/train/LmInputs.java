package org.distillery.jobs.train;

import java.util.LinkedHashMap;
import java.util.Map;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.Storage;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.text.CharVocabulary;
import org.distillery.model.text.Windowing;

/**
 * The text transfer sets of an LM run, resolved once at its start: the training set and the optional validation set,
 * which must share its vocabulary (SHA-256) and windowing; the vocabulary size fixes the LM's input and output width.
 */
record LmInputs(ResolvedInput transfer, ResolvedInput validation, CharVocabulary vocabulary, Windowing windowing) {

    /** Every input rule of an LM run, checked from manifests before Spark reads a row. */
    static LmInputs check(Storage storage, TrainConfig config) {
        ResolvedInput transfer = text(storage, config.data().transfer(), "--transfer");
        CharVocabulary vocabulary = TextTransferSchema.vocabulary(transfer.manifest());
        Windowing windowing = TextTransferSchema.windowing(transfer.manifest());
        ResolvedInput validation = null;
        if (config.data().validation() != null) {
            validation = text(storage, config.data().validation(), "--validation");
            CharVocabulary other = TextTransferSchema.vocabulary(validation.manifest());
            if (!other.sha256().equals(vocabulary.sha256())) {
                throw new IllegalArgumentException("validation set " + validation.given() + " has vocabulary "
                        + other.sha256() + " (" + other.size() + " ids), the transfer set " + vocabulary.sha256() + " ("
                        + vocabulary.size() + " ids): ingest them together");
            }
            Windowing w = TextTransferSchema.windowing(validation.manifest());
            if (!w.equals(windowing)) {
                throw new IllegalArgumentException("validation set " + validation.given() + " has windows of " + w.length()
                        + " tokens with burn-in " + w.burnIn() + ", the transfer set " + windowing.length() + " and "
                        + windowing.burnIn());
            }
        }
        return new LmInputs(transfer, validation, vocabulary, windowing);
    }

    /** The published text transfer set at {@code path}; anything else is refused naming {@code option}. */
    private static ResolvedInput text(Storage storage, String path, String option) {
        ResolvedInput in = ResolvedInput.published(storage, path);
        if (!in.manifest().facts().containsKey(TextTransferSchema.SCHEMA_VERSION)) {
            throw new IllegalArgumentException(option + " " + path + " is not a text transfer set (ingest --format text"
                    + " makes one); --task lm trains on text");
        }
        if (in.manifest().facts().get("rows") instanceof Number n && n.longValue() == 0) {
            throw new IllegalArgumentException("text transfer set is empty (0 windows): " + path);
        }
        return in;
    }

    long windows() {
        return (long) transfer.manifest().number("rows");
    }

    Map<String, Manifest.Input> manifestInputs() {
        Map<String, Manifest.Input> m = new LinkedHashMap<>();
        m.put("transfer", transfer.asInput());
        if (validation != null) {
            m.put("validation", validation.asInput());
        }
        return m;
    }
}
