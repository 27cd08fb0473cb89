package org.distillery.jobs.label;

import static org.apache.spark.sql.functions.col;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.distillery.jobs.common.InputHash;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetCodec;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TransferSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --mode incremental}: the teacher runs only on transfer rows that are new or whose features or label changed
 * since the published output being replaced (compared by id and input hash); every other row keeps its stored raw
 * logits, and its soft column is recomputed at this run's T, so a change of T alone costs no teacher inference.
 * Anything that invalidates the stored values (another teacher or ensemble, another storage layout, an output written
 * before input hashes were stored, a new T where the stored values depend on T) makes it a full relabel, with the
 * reason in the log and the manifest. The result
 * is written in id order, so the same command run twice writes the same rows in the same order. Before any of this,
 * an output labelled from the very same transfer manifest with the same teacher, T and layout is kept as it is without
 * reading a row ({@link #unchanged}); one labelled from the same transfer manifest at another T has its stored logits
 * re-softened without reading the transfer set. Comparing rows reads and hashes every feature (18.9 s against 42 s to
 * label 1M rows, docs/PERFORMANCE.md), so a rerun with nothing to compare does not.
 */
final class Incremental {
    private static final Logger LOG = LoggerFactory.getLogger(Incremental.class);
    private final SparkSession spark;
    private final String previous;
    private final String previousManifest;
    private final double temperature;
    private final double previousTemperature;
    private final SoftTargetLayout layout;
    /** At most this many new or changed ids are broadcast to pick their rows out of the input (~40 bytes each). */
    static final long BROADCAST_IDS = 2_000_000;
    private String fullRelabelReason;
    /** Whether the previous output was labelled from this very transfer set: no row to compare, none to label. */
    private boolean sameInput;
    private Dataset<Row> keys;
    private Dataset<Row> changedIds;

    private Incremental(SparkSession spark, String previous, String previousManifest, double temperature,
                        double previousTemperature, SoftTargetLayout layout) {
        this.previousTemperature = previousTemperature;
        this.spark = spark;
        this.previous = previous;
        this.previousManifest = previousManifest;
        this.temperature = temperature;
        this.layout = layout;
    }

    /**
     * What an incremental run can reuse: null when the mode is not incremental; else an Incremental that either
     * reuses the previous output or, with {@link #fullRelabelReason()} set, relabels every row and says why.
     *
     * @param transferManifest the id of the transfer set's manifest: when the previous output was labelled from the
     *                         same, every row is reused without reading the transfer set
     * @param logitsDependOnT whether the stored logits depend on T (a probability-averaged ensemble stores T log p)
     */
    static Incremental plan(SparkSession spark, Storage storage, LabelConfig config, String target,
                            String transferManifest, String teacherSha256, SoftTargetLayout layout,
                            boolean logitsDependOnT) {
        if (config.mode() != org.distillery.jobs.common.PublishMode.INCREMENTAL) {
            return null;
        }
        String reason = null;
        Manifest m = null;
        if (!storage.exists(target + "/" + Manifest.SUCCESS)) {
            reason = "no published output at " + target;
        } else {
            m = storage.publishedManifest(target);
            if (!"label".equals(m.job())) {
                reason = "the output at " + target + " was written by job " + m.job();
            } else if (!teacherSha256.equals(m.facts().get("teacherSha256"))) {
                reason = "the teacher changed (" + m.facts().get("teacherSha256") + " -> " + teacherSha256 + ")";
            } else if (!SoftTargetLayout.read(m, target).equals(layout)) {
                reason = "the storage layout changed (" + SoftTargetLayout.read(m, target).describe() + " -> "
                        + layout.describe() + ")";
            } else if (!TransferTables.hasColumn(storage, target, SoftTargetSchema.INPUT_HASH)) {
                reason = "the previous output has no input hashes (written before incremental labeling)";
            } else if (!InputHash.version(m.facts()).equals(InputHash.VERSION)) {
                reason = "the input hash changed (" + InputHash.version(m.facts()) + " -> " + InputHash.VERSION
                        + "): every row is relabelled once, and later runs compare the new hashes";
            } else if (m.number(SoftTargetSchema.TEMPERATURE) != config.temperature() && logitsDependOnT) {
                reason = "T changed, and a probability-averaged ensemble's stored logits depend on T";
            } else if (m.number(SoftTargetSchema.TEMPERATURE) != config.temperature() && layout.soft()
                    && (layout.topKOnly() || layout.precision() != SoftTargetLayout.Precision.FP32)) {
                reason = "T changed, and the soft column must come from full-precision logits, which this layout ("
                        + layout.describe() + ") does not keep";
            }
        }
        if (reason != null) {
            LOG.info("incremental: relabeling every row: {}", reason);
            Incremental full = new Incremental(spark, target, m == null ? null : m.id(), config.temperature(), Double.NaN,
                    layout);
            full.fullRelabelReason = reason;
            return full;
        }
        LOG.info("incremental: reusing the logits of unchanged rows of {} (manifest {})", target, m.id());
        Incremental reuse = new Incremental(spark, target, m.id(), config.temperature(),
                m.number(SoftTargetSchema.TEMPERATURE), layout);
        Manifest.Input from = m.inputs().get("transfer");
        reuse.sameInput = from != null && transferManifest.equals(from.manifestId());
        if (reuse.sameInput) {
            LOG.info("incremental: the transfer set is the one {} was labelled from (manifest {}): every row reused",
                    target, transferManifest);
        }
        return reuse;
    }

    /**
     * Soft-target rows of {@code input}: unchanged rows keep the previous output's stored values (same layout); the
     * soft column, if stored, is kept when T is unchanged and otherwise recomputed at this run's T from the stored
     * logits (exact for full logits, the top-K reconstruction otherwise); new and changed rows go through
     * {@code inference}.
     *
     * <p>The features never cross a shuffle: comparing them through a join moved 3 KB per row and cost about as much
     * as labeling every row (35 s against 38.5 s for 1M rows, docs/PERFORMANCE.md). Instead the input is read twice:
     * once for its (id, input hash) keys, kept in memory (16 bytes a row), from which the ids of new and changed rows
     * are found against the previous output's keys; and once more, keeping only those ids (a broadcast semi-join when
     * there are at most {@value #BROADCAST_IDS} of them), for the teacher, unless there are none. The unchanged rows
     * come from the previous output, joined with the keys on small columns.
     */
    Dataset<Row> label(Dataset<Row> input, TeacherInference inference, SoftTargetCodec codec) {
        List<String> stored = layout.logitColumns();
        List<org.apache.spark.sql.Column> prevCols = new ArrayList<>(List.of(col(SoftTargetSchema.ID),
                col(SoftTargetSchema.LABEL)));
        stored.forEach(c -> prevCols.add(col(c)));
        prevCols.add(col(SoftTargetSchema.INPUT_HASH));
        boolean keepSoft = layout.soft() && previousTemperature == temperature;
        if (keepSoft) {
            prevCols.add(col(SoftTargetSchema.SOFT));
        }
        boolean hint = layout.hasHint(); // the same layer of the same teacher (the layouts are equal)
        if (hint) {
            prevCols.add(col(SoftTargetSchema.HINT));
        }
        Dataset<Row> prev = TransferTables.readPublished(spark, previous);
        if (sameInput) { // e.g. another T alone: re-soften the stored logits
            return spark.createDataFrame(reused(prev.select(prevCols.toArray(org.apache.spark.sql.Column[]::new)),
                    keepSoft, codec), TransferTables.softTargets(layout)).orderBy(SoftTargetSchema.ID);
        }
        Dataset<Row> prevKeys = prev.select(col(SoftTargetSchema.ID).as("p_id"),
                col(SoftTargetSchema.INPUT_HASH).as("p_hash"));
        keys = input.select(TransferSchema.ID, SoftTargetSchema.INPUT_HASH)
                .persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
        changedIds = keys.join(prevKeys, col(TransferSchema.ID).equalTo(col("p_id"))
                        .and(col(SoftTargetSchema.INPUT_HASH).equalTo(col("p_hash"))), "left_anti")
                .select(col(TransferSchema.ID).as("c_id"))
                .persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
        long changed = changedIds.count();
        LOG.info("incremental: {} rows new or changed, found from (id, input hash) keys", changed);
        Dataset<Row> changedRows = input.join(changed <= BROADCAST_IDS ? functions.broadcast(changedIds) : changedIds,
                        col(TransferSchema.ID).equalTo(col("c_id")), "left_semi")
                .select(TransferSchema.ID, TransferSchema.FEATURES, TransferSchema.LABEL, SoftTargetSchema.INPUT_HASH);
        Dataset<Row> same = prev.select(prevCols.toArray(org.apache.spark.sql.Column[]::new))
                .join(keys.select(col(TransferSchema.ID).as("k_id"), col(SoftTargetSchema.INPUT_HASH).as("k_hash")),
                        col(SoftTargetSchema.ID).equalTo(col("k_id"))
                                .and(col(SoftTargetSchema.INPUT_HASH).equalTo(col("k_hash"))), "left_semi");
        JavaRDD<Row> kept = reused(same, keepSoft, codec);
        JavaRDD<Row> fresh = changed == 0 ? kept.filter(r -> false) : inference.over(changedRows); // no second read
        return spark.createDataFrame(kept.union(fresh), TransferTables.softTargets(layout))
                .orderBy(SoftTargetSchema.ID);
    }

    /**
     * Previous rows (id, label, stored values, input_hash[, soft][, hint]) as soft-target rows of this run: stored
     * values as they are, the soft column kept ({@code keepSoft}) or recomputed at this run's T.
     */
    private JavaRDD<Row> reused(Dataset<Row> same, boolean keepSoft, SoftTargetCodec codec) {
        double t = temperature;
        boolean soft = layout.soft();
        boolean hint = layout.hasHint();
        int n = layout.logitColumns().size();
        SoftTargetLayout storedLayout = layout;
        return same.javaRDD().map(r -> {
            Object[] values = TransferTables.stored(r, 2, storedLayout);
            List<Object> row = new ArrayList<>(List.of(r.getLong(0)));
            row.add(r.isNullAt(1) ? null : r.getInt(1));
            row.addAll(java.util.Arrays.asList(values));
            if (soft) {
                row.add(keepSoft ? TransferTables.floats(r, 3 + n) : SoftTargets.soften(codec.decode(values), t));
            }
            if (hint) {
                row.add(TransferTables.floats(r, 3 + n + (keepSoft ? 1 : 0)));
            }
            row.add(r.getLong(2 + n));
            return RowFactory.create(row.toArray());
        });
    }

    /** Drops the keys {@link #label} keeps in memory; call once the labelled rows are written. */
    void release() {
        if (keys != null) {
            keys.unpersist();
            changedIds.unpersist();
        }
    }

    /**
     * Why the published soft targets {@code previous} (at {@code target}) can be kept as they are, without reading a
     * row; null when they cannot: they must have been labelled from this very transfer set (manifest {@code input}),
     * with the same teacher, T and storage layout.
     */
    static String unchanged(Manifest previous, Manifest input, String teacherSha256, SoftTargetLayout layout,
                            double temperature, String target) {
        Manifest.Input from = previous.inputs().get("transfer");
        boolean same = "label".equals(previous.job()) && from != null && input.id().equals(from.manifestId())
                && teacherSha256.equals(previous.facts().get("teacherSha256"))
                && previous.number(SoftTargetSchema.TEMPERATURE) == temperature
                && SoftTargetLayout.read(previous, target).equals(layout);
        return same ? "unchanged since manifest " + previous.id() + " (same transfer set, teacher, T and storage)"
                : null;
    }

    /** Why every row is relabeled, or null when unchanged rows are reused. */
    String fullRelabelReason() {
        return fullRelabelReason;
    }

    /**
     * Manifest facts: what was reused and relabeled, or why nothing was reused. Reused rows are counted on the
     * written output (its id and input hash equal the previous output's), which still sits at the target: two small
     * columns, instead of running the feature join a second time.
     */
    Map<String, Object> facts(Dataset<Row> written, long rows) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (fullRelabelReason != null) {
            m.put("fullRelabel", fullRelabelReason);
            m.put("relabelledRows", rows);
            return m;
        }
        m.put("previousManifest", previousManifest);
        Dataset<Row> prev = TransferTables.readPublished(spark, previous).select(col(SoftTargetSchema.ID).as("p_id"),
                col(SoftTargetSchema.INPUT_HASH).as("p_hash"));
        long reused = written.join(prev, col(SoftTargetSchema.ID).equalTo(col("p_id"))
                .and(col(SoftTargetSchema.INPUT_HASH).equalTo(col("p_hash")))).count();
        m.put("reusedRows", reused);
        m.put("relabelledRows", rows - reused);
        LOG.info("incremental: {} rows reused, {} relabeled (new or changed)", reused, rows - reused);
        return m;
    }
}
