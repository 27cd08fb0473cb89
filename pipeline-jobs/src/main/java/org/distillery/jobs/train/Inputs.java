package org.distillery.jobs.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.Manifest;

/**
 * The train job's resolved inputs. The transfer set defaults to the one the soft targets were labelled from, and the
 * temperature and class count come from the label manifest: a config that disagrees is refused.
 */
record Inputs(TransferTables.Transfer transfer, TransferTables.SoftTargets softTargets,
              TransferTables.Transfer validation, List<Double> temperatures, int classes) {

    static Inputs resolve(SparkSession spark, TrainConfig config) {
        TransferTables.SoftTargets soft = config.objective().needsTeacher()
                ? TransferTables.readSoftTargets(spark, config.softTargets()) : null;
        String transferPath = config.transfer();
        if (transferPath == null || transferPath.isBlank()) {
            Manifest.Input t = soft == null ? null : soft.manifest().inputs().get("transfer");
            if (t == null) {
                throw new IllegalArgumentException("no --transfer given and the soft targets do not name one");
            }
            transferPath = t.path();
        }
        TransferTables.Transfer transfer = TransferTables.readTransfer(spark, transferPath);
        Manifest.Input labelledFrom = soft == null ? null : soft.manifest().inputs().get("transfer");
        if (labelledFrom != null && !transfer.manifest().id().equals(labelledFrom.manifestId())) {
            throw new IllegalArgumentException("soft targets " + soft.path() + " were labelled from transfer set "
                    + labelledFrom.path() + " (manifest " + labelledFrom.manifestId() + "), not from "
                    + transfer.path() + " (manifest " + transfer.manifest().id() + ")");
        }
        if (soft != null && soft.classes() != transfer.classes()) {
            throw new IllegalArgumentException("soft targets have " + soft.classes() + " classes but the transfer set has "
                    + transfer.classes() + ": " + soft.path());
        }
        List<Double> temperatures = temperatures(config, soft);
        TransferTables.Transfer validation = config.validation() == null ? null
                : TransferTables.readTransfer(spark, config.validation());
        if (validation != null && validation.featureCount() != transfer.featureCount()) {
            throw new IllegalArgumentException("validation set has " + validation.featureCount() + " features, transfer set "
                    + transfer.featureCount() + ": " + config.validation());
        }
        return new Inputs(transfer, soft, validation, temperatures, transfer.classes());
    }

    private static List<Double> temperatures(TrainConfig config, TransferTables.SoftTargets soft) {
        if (soft == null || config.objective() != Objective.KD) {
            return List.of(1.0);
        }
        if (config.temperatures().isEmpty()) {
            return List.of(soft.temperature());
        }
        for (double t : config.temperatures()) {
            if (t != soft.temperature() && !config.retemper()) {
                throw new IllegalArgumentException("temperature " + t + " disagrees with the label manifest's "
                        + soft.temperature() + " (" + soft.path() + "); pass --retemper to re-soften the stored raw logits");
            }
        }
        return config.temperatures();
    }

    int featureCount() {
        return transfer.featureCount();
    }

    Map<String, Manifest.Input> manifestInputs() {
        Map<String, Manifest.Input> m = new LinkedHashMap<>();
        m.put("transfer", new Manifest.Input(transfer.path(), transfer.manifest().id()));
        if (softTargets != null) {
            m.put("softTargets", new Manifest.Input(softTargets.path(), softTargets.manifest().id()));
        }
        if (validation != null) {
            m.put("validation", new Manifest.Input(validation.path(), validation.manifest().id()));
        }
        return m;
    }
}
