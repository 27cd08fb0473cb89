package org.distillery.jobs.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.distillery.jobs.common.PartitionedTable;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TransferSchema;

/**
 * The train job's resolved inputs. The transfer set defaults to the one the soft targets were labelled from, and the
 * temperature and class count come from the label manifest: a config that disagrees is refused.
 */
record Inputs(Checked checked, TransferTables.Transfer transfer, TransferTables.SoftTargets softTargets,
              TransferTables.Transfer validation) {

    /** What {@link #check} established from manifests and Parquet footers alone (no Spark). */
    record Checked(Manifest.Input transfer, Manifest transferManifest, Manifest.Input softTargets,
                   Manifest softManifest, Manifest.Input validation, Manifest validationManifest,
                   List<Double> temperatures, int classes, int featureCount, int teacherLayerWidth) {

        Map<String, Manifest.Input> manifestInputs() {
            Map<String, Manifest.Input> m = new LinkedHashMap<>();
            m.put("transfer", transfer);
            if (softTargets != null) {
                m.put("softTargets", softTargets);
            }
            if (validation != null) {
                m.put("validation", validation);
            }
            return m;
        }
    }

    /** Every input rule, checked before Spark reads a row (and all that a dry run checks). */
    static Checked check(Storage storage, TrainConfig config) {
        Manifest soft = config.objective().needsTeacher()
                ? TransferTables.checkSoftTargets(storage, config.data().softTargets()) : null;
        Manifest.Input labelledFrom = soft == null ? null : soft.inputs().get("transfer");
        String transferPath = config.data().transfer();
        if (transferPath == null || transferPath.isBlank()) {
            if (labelledFrom == null) {
                throw new IllegalArgumentException("no --transfer given and the soft targets do not name one");
            }
            transferPath = labelledFrom.path();
        }
        Manifest transfer = TransferTables.checkTransfer(storage, transferPath);
        if (labelledFrom != null && !transfer.id().equals(labelledFrom.manifestId())) {
            throw new IllegalArgumentException("soft targets " + config.data().softTargets() + " were labelled from"
                    + " transfer set " + labelledFrom.path() + " (manifest " + labelledFrom.manifestId()
                    + "), not from "
                    + transferPath + " (manifest " + transfer.id() + ")"
                    + staleness(storage, config.data().softTargets(), transferPath));
        }
        int classes = (int) transfer.number(TransferSchema.CLASSES);
        int features = (int) transfer.number(TransferSchema.FEATURE_COUNT);
        if (soft != null && (int) soft.number(SoftTargetSchema.CLASSES) != classes) {
            throw new IllegalArgumentException("soft targets have " + (int) soft.number(SoftTargetSchema.CLASSES)
                    + " classes but the transfer set has " + classes + ": " + config.data().softTargets());
        }
        Manifest validation = config.data().validation() == null ? null
                : TransferTables.checkTransfer(storage, config.data().validation());
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
        return new Checked(input(storage, transferPath, transfer), transfer,
                soft == null ? null : input(storage, config.data().softTargets(), soft), soft,
                validation == null ? null : input(storage, config.data().validation(), validation), validation,
                temperatures(config, soft), classes, features, teacherLayerWidth);
    }

    /** For two partitioned tables, which partitions are out of date (", partitions: ..."); otherwise nothing. */
    private static String staleness(Storage storage, String softTargets, String transfer) {
        if (!PartitionedTable.isPartitioned(storage, softTargets) || !PartitionedTable.isPartitioned(storage, transfer)) {
            return "";
        }
        return "; partitions: " + PartitionedTable.read(storage, softTargets)
                .staleness(PartitionedTable.read(storage, transfer)) + " (label --mode incremental relabels them)";
    }

    private static Manifest.Input input(Storage storage, String path, Manifest m) {
        return new Manifest.Input(storage.qualify(path), m.id());
    }

    /** Opens the checked tables for Spark. */
    static Inputs resolve(SparkSession spark, Checked c) {
        TransferTables.SoftTargets soft = c.softTargets() == null ? null
                : TransferTables.readSoftTargets(spark, c.softTargets().path());
        TransferTables.Transfer validation = c.validation() == null ? null
                : TransferTables.readTransfer(spark, c.validation().path());
        return new Inputs(c, TransferTables.readTransfer(spark, c.transfer().path()), soft, validation);
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
