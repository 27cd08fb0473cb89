package org.distillery.jobs.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.schema.TransferSchema;

/**
 * The train job's resolved inputs. The transfer set defaults to the one the soft targets were labelled from, and the
 * temperature and class count come from the label manifest: a config that disagrees is refused.
 */
record Inputs(Checked checked, TransferTables.Transfer transfer, TransferTables.SoftTargets softTargets,
              TransferTables.Transfer validation) {

    /** What {@link #check} established from manifests and Parquet footers (no Spark), each input resolved once. */
    record Checked(ResolvedInput transfer, ResolvedInput softTargets, ResolvedInput validation,
                   List<Double> temperatures, int classes, int featureCount, int teacherLayerWidth) {

        Manifest transferManifest() {
            return transfer.manifest();
        }

        Map<String, Manifest.Input> manifestInputs() {
            return Inputs.manifestInputs(transfer, softTargets, validation);
        }
    }

    /** The inputs a trained model's manifest lists: transfer, then soft targets and validation when given. */
    static Map<String, Manifest.Input> manifestInputs(ResolvedInput transfer, ResolvedInput softTargets,
                                                      ResolvedInput validation) {
        Map<String, Manifest.Input> m = new LinkedHashMap<>();
        m.put("transfer", transfer.asInput());
        if (softTargets != null) {
            m.put("softTargets", softTargets.asInput());
        }
        if (validation != null) {
            m.put("validation", validation.asInput());
        }
        return m;
    }

    /** Every input rule, checked before Spark reads a row (and all that a dry run checks). */
    static Checked check(Storage storage, TrainConfig config) {
        ResolvedInput softTargets = config.objective().needsTeacher()
                ? TransferTables.resolveSoftTargets(storage, config.data().softTargets()) : null;
        Manifest soft = softTargets == null ? null : softTargets.manifest();
        Manifest.Input labelledFrom = soft == null ? null : soft.inputs().get("transfer");
        String transferPath = config.data().transfer();
        if (transferPath == null || transferPath.isBlank()) {
            if (labelledFrom == null) {
                throw new IllegalArgumentException("no --transfer given and the soft targets do not name one");
            }
            transferPath = labelledFrom.path();
        }
        ResolvedInput transferInput = TransferTables.checkTransfer(storage,
                notText(ResolvedInput.published(storage, transferPath), "--transfer"));
        Manifest transfer = transferInput.manifest();
        if (labelledFrom != null && !transfer.id().equals(labelledFrom.manifestId())) {
            throw new IllegalArgumentException("soft targets " + config.data().softTargets() + " were labelled from"
                    + " transfer set " + labelledFrom.path() + " (manifest " + labelledFrom.manifestId()
                    + "), not from "
                    + transferPath + " (manifest " + transfer.id() + ")"
                    + staleness(softTargets, transferInput));
        }
        int classes = (int) transfer.number(TransferSchema.CLASSES);
        int features = (int) transfer.number(TransferSchema.FEATURE_COUNT);
        if (soft != null && (int) soft.number(SoftTargetSchema.CLASSES) != classes) {
            throw new IllegalArgumentException("soft targets have " + (int) soft.number(SoftTargetSchema.CLASSES)
                    + " classes but the transfer set has " + classes + ": " + config.data().softTargets());
        }
        ResolvedInput validationInput = config.data().validation() == null ? null : TransferTables.checkTransfer(
                storage, notText(ResolvedInput.published(storage, config.data().validation()), "--validation"));
        Manifest validation = validationInput == null ? null : validationInput.manifest();
        if (validation != null && (int) validation.number(TransferSchema.FEATURE_COUNT) != features) {
            throw new IllegalArgumentException("validation set has " + (int) validation.number(TransferSchema.FEATURE_COUNT)
                    + " features, transfer set " + features + ": " + config.data().validation());
        }
        if (validation != null) {
            TransferTables.requireSameMeaning(transfer, transferPath, validation, config.data().validation());
        }
        int teacherLayerWidth = 0;
        if (config.loss().features() != null) {
            var layout = org.distillery.model.schema.SoftTargetLayout.read(soft, config.data().softTargets());
            if (!layout.hasHint()) {
                throw new IllegalArgumentException("hint and relation terms need a stored teacher layer, but the soft"
                        + " targets at " + config.data().softTargets() + " have none (label them with --hint-layer L)");
            }
            teacherLayerWidth = layout.hintWidth();
        }
        return new Checked(transferInput, softTargets, validationInput, temperatures(config, soft), classes, features,
                teacherLayerWidth);
    }

    /** A text transfer set trains a language model: refused here, with the option that takes it. */
    private static ResolvedInput notText(ResolvedInput in, String option) {
        if (in.manifest().facts().containsKey(TextTransferSchema.SCHEMA_VERSION)) {
            throw new IllegalArgumentException(option + " " + in.given() + " is a text transfer set: train a language"
                    + " model on it with --task lm");
        }
        return in;
    }

    /** For two partitioned tables, which partitions are out of date (", partitions: ..."); otherwise nothing. */
    private static String staleness(ResolvedInput softTargets, ResolvedInput transfer) {
        if (!softTargets.partitioned() || !transfer.partitioned()) {
            return "";
        }
        return "; partitions: " + softTargets.table().staleness(transfer.table())
                + " (label --mode incremental relabels them)";
    }

    /** Opens the checked tables for Spark: the files their manifests list, read as resolved. */
    static Inputs resolve(SparkSession spark, Checked c) {
        TransferTables.SoftTargets soft = c.softTargets() == null ? null
                : TransferTables.readSoftTargets(spark, c.softTargets());
        TransferTables.Transfer validation = c.validation() == null ? null
                : TransferTables.readTransfer(spark, c.validation());
        return new Inputs(c, TransferTables.readTransfer(spark, c.transfer()), soft, validation);
    }

    private static List<Double> temperatures(TrainConfig config, Manifest soft) {
        if (soft == null || config.objective() != Objective.KD) {
            return List.of(1.0);
        }
        double labelled = soft.number(SoftTargetSchema.TEMPERATURE);
        if (config.loss().temperatures().isEmpty()) {
            return List.of(labelled);
        }
        for (double t : config.loss().temperatures()) {
            if (t != labelled && !config.loss().retemper()) {
                throw new IllegalArgumentException("temperature " + t + " disagrees with the label manifest's "
                        + labelled + " (" + config.data().softTargets() + "); pass --retemper to re-soften the"
                        + " stored raw logits");
            }
        }
        return config.loss().temperatures();
    }

    List<Double> temperatures() {
        return checked.temperatures();
    }

    int classes() {
        return checked.classes();
    }

    int featureCount() {
        return checked.featureCount();
    }

    /** Width of the soft targets' stored teacher layer (0: not used by this run). */
    int teacherLayerWidth() {
        return checked.teacherLayerWidth();
    }

    Map<String, Manifest.Input> manifestInputs() {
        return checked.manifestInputs();
    }
}
