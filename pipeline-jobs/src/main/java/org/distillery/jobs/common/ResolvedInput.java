package org.distillery.jobs.common;

import java.util.List;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TransferSchema;

/**
 * A table input as a job holds it from its start on: resolved once at the door (where the output rule is checked too)
 * and passed down instead of the path, so no later step qualifies the path or reads and verifies the manifest again.
 * {@link TransferTables#resolveTransfer} and {@link TransferTables#resolveSoftTargets} make one with their checks done; readers
 * ({@link TransferTables#readTransfer(org.apache.spark.sql.SparkSession, ResolvedInput)}) read the files its manifest
 * lists.
 *
 * @param given    the path as the user spelt it: what error messages name
 * @param path     the fully qualified path, as manifests record it
 * @param manifest the verified manifest: a published output's, or the combined manifest of a partitioned table
 * @param table    the partitioned table the input is, or null for one published output
 */
public record ResolvedInput(String given, String path, Manifest manifest, PartitionedTable table) {

    /**
     * The published output or partitioned table at {@code given}, its manifest verified ({@link
     * Storage#publishedManifest}, {@link PartitionedTable#manifest}); anything else is refused.
     */
    public static ResolvedInput published(Storage storage, String given) {
        if (PartitionedTable.isPartitioned(storage, given)) {
            PartitionedTable table = PartitionedTable.read(storage, given);
            return new ResolvedInput(given, table.root(), table.manifest(), table);
        }
        return output(storage, given);
    }

    /** The one published output at {@code given} (never a partitioned table), its manifest verified. */
    public static ResolvedInput output(Storage storage, String given) {
        return new ResolvedInput(given, storage.qualify(given), storage.publishedManifest(given), null);
    }

    /** One partition of a partitioned table read at the door, spelt {@code given}: its manifest is already verified. */
    public static ResolvedInput partition(String given, PartitionedTable.Partition partition) {
        return new ResolvedInput(given, partition.path(), partition.manifest(), null);
    }

    public boolean partitioned() {
        return table != null;
    }

    /** The partitions read, in name order; none for one published output. */
    public List<PartitionedTable.Partition> partitions() {
        return table == null ? List.of() : table.partitions();
    }

    /** The schema version the manifest records (a soft-target table's, else a transfer set's); 0 when none. */
    public int schemaVersion() {
        for (String key : List.of(SoftTargetSchema.SCHEMA_VERSION, TransferSchema.SCHEMA_VERSION)) {
            if (manifest.facts().get(key) instanceof Number n) {
                return n.intValue();
            }
        }
        return 0;
    }

    /** The input as an output's manifest lists it: qualified path and manifest id. */
    public Manifest.Input asInput() {
        return new Manifest.Input(path, manifest.id());
    }
}
