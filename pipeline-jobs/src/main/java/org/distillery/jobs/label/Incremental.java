package org.distillery.jobs.label;

import static org.apache.spark.sql.functions.col;

import java.util.LinkedHashMap;
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
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TransferSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --mode incremental}: the teacher runs only on transfer rows that are new or whose features or label changed
 * since the published output being replaced (compared by id and input hash); every other row keeps its stored raw
 * logits, and its soft column is recomputed at this run's T, so a change of T alone costs no teacher inference.
 * Anything that invalidates the stored logits (another teacher or ensemble, another class count, an output written
 * before input hashes were stored) makes it a full relabel, with the reason in the log and the manifest. The result
 * is written in id order, so the same command run twice writes the same rows in the same order.
 */
final class Incremental {
    private static final Logger LOG = LoggerFactory.getLogger(Incremental.class);
    private final SparkSession spark;
    private final String previous;
    private final String previousManifest;
    private final double temperature;
    private long reused = -1;

    private Incremental(SparkSession spark, String previous, String previousManifest, double temperature) {
        this.spark = spark;
        this.previous = previous;
        this.previousManifest = previousManifest;
        this.temperature = temperature;
    }

    /** The reusable previous output of an incremental run, or null (with the reason logged) for a full relabel. */
    static Incremental plan(SparkSession spark, Storage storage, LabelConfig config, String target,
                            String teacherSha256, int classes) {
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
            } else if ((int) m.number(SoftTargetSchema.CLASSES) != classes) {
                reason = "the class count changed";
            } else if (!TransferTables.hasColumn(storage, target, SoftTargetSchema.INPUT_HASH)) {
                reason = "the previous output has no input hashes (written before incremental labeling)";
            }
        }
        if (reason != null) {
            LOG.info("incremental: relabeling every row: {}", reason);
            return null;
        }
        LOG.info("incremental: reusing the logits of unchanged rows of {} (manifest {})", target, m.id());
        return new Incremental(spark, target, m.id(), config.temperature());
    }

    /** Soft-target rows of {@code input}: unchanged rows from the previous output, the rest from {@code inference}. */
    Dataset<Row> label(Dataset<Row> input, TeacherInference inference) {
        Dataset<Row> prev = spark.read().parquet(previous).select(col(SoftTargetSchema.ID).as("p_id"),
                col(SoftTargetSchema.INPUT_HASH).as("p_hash"), col(SoftTargetSchema.LOGITS).as("p_logits"));
        Dataset<Row> joined = input.join(prev, input.col(TransferSchema.ID).equalTo(prev.col("p_id")), "left");
        Dataset<Row> same = joined.filter(col("p_hash").equalTo(col(SoftTargetSchema.INPUT_HASH)))
                .select(col(TransferSchema.ID), col(TransferSchema.LABEL), col("p_logits"),
                        col(SoftTargetSchema.INPUT_HASH));
        Dataset<Row> changed = joined.filter(col("p_hash").isNull()
                        .or(col("p_hash").notEqual(col(SoftTargetSchema.INPUT_HASH))))
                .select(TransferSchema.ID, TransferSchema.FEATURES, TransferSchema.LABEL, SoftTargetSchema.INPUT_HASH);
        reused = same.count();
        double t = temperature;
        JavaRDD<Row> kept = same.javaRDD().map(r -> {
            float[] logits = TransferTables.floats(r, 2);
            return RowFactory.create(r.getLong(0), r.isNullAt(1) ? null : r.getInt(1), logits,
                    SoftTargets.soften(logits, t), r.getLong(3));
        });
        JavaRDD<Row> fresh = changed.javaRDD().mapPartitions(inference);
        return spark.createDataFrame(kept.union(fresh), TransferTables.SOFT_TARGETS).orderBy(SoftTargetSchema.ID);
    }

    /** Manifest facts: what was reused and relabeled. */
    Map<String, Object> facts(long rows) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("previousManifest", previousManifest);
        m.put("reusedRows", reused);
        m.put("relabelledRows", rows - reused);
        LOG.info("incremental: {} rows reused, {} relabeled (new or changed)", reused, rows - reused);
        return m;
    }
}
