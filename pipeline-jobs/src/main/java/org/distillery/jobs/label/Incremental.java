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
 * is written in id order, so the same command run twice writes the same rows in the same order.
 */
final class Incremental {
    private static final Logger LOG = LoggerFactory.getLogger(Incremental.class);
    private final SparkSession spark;
    private final String previous;
    private final String previousManifest;
    private final double temperature;
    private final double previousTemperature;
    private final SoftTargetLayout layout;
    private String fullRelabelReason;

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
     * @param logitsDependOnT whether the stored logits depend on T (a probability-averaged ensemble stores T log p)
     */
    static Incremental plan(SparkSession spark, Storage storage, LabelConfig config, String target,
                            String teacherSha256, SoftTargetLayout layout, boolean logitsDependOnT) {
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
        return new Incremental(spark, target, m.id(), config.temperature(),
                m.number(SoftTargetSchema.TEMPERATURE), layout);
    }

    /**
     * Soft-target rows of {@code input}: unchanged rows keep the previous output's stored values (same layout); the
     * soft column, if stored, is kept when T is unchanged and otherwise recomputed at this run's T from the stored
     * logits (exact for full logits, the top-K reconstruction otherwise); new and changed rows go through
     * {@code inference}.
     */
    Dataset<Row> label(Dataset<Row> input, TeacherInference inference, SoftTargetCodec codec) {
        List<String> stored = layout.logitColumns();
        List<org.apache.spark.sql.Column> prevCols = new ArrayList<>(List.of(col(SoftTargetSchema.ID).as("p_id"),
                col(SoftTargetSchema.INPUT_HASH).as("p_hash")));
        stored.forEach(c -> prevCols.add(col(c).as("p_" + c)));
        boolean keepSoft = layout.soft() && previousTemperature == temperature;
        if (keepSoft) {
            prevCols.add(col(SoftTargetSchema.SOFT).as("p_soft"));
        }
        boolean hint = layout.hasHint(); // the same layer of the same teacher (the layouts are equal)
        if (hint) {
            prevCols.add(col(SoftTargetSchema.HINT).as("p_hint"));
        }
        Dataset<Row> prev = spark.read().parquet(previous).select(prevCols.toArray(org.apache.spark.sql.Column[]::new));
        Dataset<Row> joined = input.join(prev, input.col(TransferSchema.ID).equalTo(prev.col("p_id")), "left");
        List<org.apache.spark.sql.Column> keptCols = new ArrayList<>(List.of(col(TransferSchema.ID),
                col(TransferSchema.LABEL)));
        stored.forEach(c -> keptCols.add(col("p_" + c)));
        keptCols.add(col(SoftTargetSchema.INPUT_HASH));
        if (keepSoft) {
            keptCols.add(col("p_soft"));
        }
        if (hint) {
            keptCols.add(col("p_hint"));
        }
        Dataset<Row> same = joined.filter(col("p_hash").equalTo(col(SoftTargetSchema.INPUT_HASH)))
                .select(keptCols.toArray(org.apache.spark.sql.Column[]::new));
        Dataset<Row> changed = joined.filter(col("p_hash").isNull()
                        .or(col("p_hash").notEqual(col(SoftTargetSchema.INPUT_HASH))))
                .select(TransferSchema.ID, TransferSchema.FEATURES, TransferSchema.LABEL, SoftTargetSchema.INPUT_HASH);
        double t = temperature;
        boolean soft = layout.soft();
        int n = stored.size();
        SoftTargetLayout storedLayout = layout;
        JavaRDD<Row> kept = same.javaRDD().map(r -> {
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
        JavaRDD<Row> fresh = inference.over(changed);
        return spark.createDataFrame(kept.union(fresh), TransferTables.softTargets(layout))
                .orderBy(SoftTargetSchema.ID);
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
        Dataset<Row> prev = spark.read().parquet(previous).select(col(SoftTargetSchema.ID).as("p_id"),
                col(SoftTargetSchema.INPUT_HASH).as("p_hash"));
        long reused = written.join(prev, col(SoftTargetSchema.ID).equalTo(col("p_id"))
                .and(col(SoftTargetSchema.INPUT_HASH).equalTo(col("p_hash")))).count();
        m.put("reusedRows", reused);
        m.put("relabelledRows", rows - reused);
        LOG.info("incremental: {} rows reused, {} relabeled (new or changed)", reused, rows - reused);
        return m;
    }
}
