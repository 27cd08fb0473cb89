package org.distillery.jobs.train;

import java.util.Map;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.Storage;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.schema.TokenSoftTargetSchema;
import org.distillery.model.text.CharVocabulary;
import org.distillery.model.text.Windowing;

/**
 * The inputs of an LM run, resolved once at its start: the text transfer set (for kd, by default the one the token soft
 * targets were labelled from, whose windows they carry), the token soft targets for kd, and the optional validation
 * set. All must share one vocabulary (SHA-256) and windowing; the vocabulary size fixes the LM's input and output
 * width.
 *
 * @param softTargets null for objective hard
 * @param layout      how the soft targets store the teacher's logits; null for objective hard
 * @param temperature the soft term's temperature: the label manifest's unless the config sets one (stored logits are
 *                    raw, so any temperature can be applied); 1 for objective hard
 */
record LmInputs(ResolvedInput transfer, ResolvedInput softTargets, ResolvedInput validation,
                CharVocabulary vocabulary, Windowing windowing, SoftTargetLayout layout, double temperature) {

    /** Every input rule of an LM run, checked from manifests before Spark reads a row. */
    static LmInputs check(Storage storage, TrainConfig config) {
        ResolvedInput soft = config.objective() == Objective.KD ? softTargets(storage, config.data().softTargets())
                : null;
        String transferPath = config.data().transfer();
        Manifest.Input labelledFrom = soft == null ? null : soft.manifest().inputs().get("transfer");
        if (soft != null && (transferPath == null || transferPath.isBlank())) {
            if (labelledFrom == null) {
                throw new IllegalArgumentException("no --transfer given and the soft targets "
                        + config.data().softTargets() + " do not name one");
            }
            transferPath = labelledFrom.path();
        }
        ResolvedInput transfer = text(storage, transferPath, "--transfer");
        if (labelledFrom != null && !labelledFrom.manifestId().equals(transfer.manifest().id())) {
            throw new IllegalArgumentException("soft targets " + config.data().softTargets() + " were labelled from"
                    + " text transfer set " + labelledFrom.path() + " (manifest " + labelledFrom.manifestId()
                    + "), not from " + transferPath + " (manifest " + transfer.manifest().id() + ")");
        }
        CharVocabulary vocabulary = TextTransferSchema.vocabulary(transfer.manifest());
        Windowing windowing = TextTransferSchema.windowing(transfer.manifest());
        SoftTargetLayout layout = null;
        double temperature = 1.0;
        if (soft != null) {
            layout = TokenSoftTargetSchema.layout(soft.manifest(), soft.given());
            sameText(soft, vocabulary, windowing, "soft targets");
            temperature = config.loss().temperatures().isEmpty() ? soft.manifest().number(SoftTargetSchema.TEMPERATURE)
                    : config.loss().temperatures().get(0);
        }
        ResolvedInput validation = null;
        if (config.data().validation() != null) {
            validation = text(storage, config.data().validation(), "--validation");
            CharVocabulary other = TextTransferSchema.vocabulary(validation.manifest());
            sameText(validation, other.sha256(), other.size(), TextTransferSchema.windowing(validation.manifest()),
                    vocabulary, windowing, "validation set");
        }
        return new LmInputs(transfer, soft, validation, vocabulary, windowing, layout, temperature);
    }

    /** The token soft targets at {@code path}; anything else is refused naming the option. */
    private static ResolvedInput softTargets(Storage storage, String path) {
        ResolvedInput in = ResolvedInput.published(storage, path);
        if (!TokenSoftTargetSchema.is(in.manifest())) {
            throw new IllegalArgumentException("--soft-targets " + path + " are not token-level soft targets (label a"
                    + " text transfer set with a teacher LM to make them); --task lm --objective kd reads those");
        }
        return in;
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

    /** The soft targets' recorded vocabulary and windowing must be the transfer set's. */
    private static void sameText(ResolvedInput soft, CharVocabulary vocabulary, Windowing windowing, String what) {
        Manifest m = soft.manifest();
        sameText(soft, m.text(TextTransferSchema.VOCABULARY_SHA256), (int) m.number(TextTransferSchema.VOCABULARY_SIZE),
                new Windowing((int) m.number(TextTransferSchema.WINDOW_LENGTH),
                        (int) m.number(TextTransferSchema.BURN_IN)), vocabulary, windowing, what);
    }

    private static void sameText(ResolvedInput in, String sha256, int size, Windowing w, CharVocabulary vocabulary,
                                 Windowing windowing, String what) {
        if (!sha256.equals(vocabulary.sha256())) {
            throw new IllegalArgumentException(what + " " + in.given() + ": vocabulary " + sha256 + " (" + size
                    + " ids), but the transfer set's is " + vocabulary.sha256() + " (" + vocabulary.size() + " ids)");
        }
        if (!w.equals(windowing)) {
            throw new IllegalArgumentException(what + " " + in.given() + ": windows of " + w.length()
                    + " tokens with burn-in " + w.burnIn() + ", but the transfer set's have " + windowing.length()
                    + " and " + windowing.burnIn());
        }
    }

    long windows() {
        return (long) transfer.manifest().number("rows");
    }

    /** What the windows are read from: the soft targets for kd (they carry the windows), else the transfer set. */
    ResolvedInput trainingTable() {
        return softTargets != null ? softTargets : transfer;
    }

    Map<String, Manifest.Input> manifestInputs() {
        return Inputs.manifestInputs(transfer, softTargets, validation);
    }
}
