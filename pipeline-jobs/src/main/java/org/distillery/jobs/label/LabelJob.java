package org.distillery.jobs.label;

import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.Progress;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TransferSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Labels a transfer set with a frozen teacher: raw logits and softmax(logits / T) per row, written as Parquet and
 * published with a manifest that names the teacher by SHA-256 and chains to the transfer set's manifest.
 */
public final class LabelJob {
    private static final Logger LOG = LoggerFactory.getLogger(LabelJob.class);
    private final SparkSession spark;

    public LabelJob(SparkSession spark) {
        this.spark = spark;
    }

    /** What {@link #check} established without Spark. */
    record Checked(String transfer, Manifest transferManifest, ModelArtifact teacher, LogitModel model) {
        int featureCount() {
            return (int) transferManifest.number(TransferSchema.FEATURE_COUNT);
        }
    }

    /** Every rule a run checks before Spark reads a row; a dry run stops here. */
    static Checked check(Storage storage, LabelConfig config) {
        StagedOutput.check(storage, config.out(), config.mode());
        Manifest transfer = TransferTables.checkTransfer(storage, config.transfer());
        ModelArtifact teacher = ModelArtifact.read(storage, config.teacher());
        if (config.teacherSha256() != null && !config.teacherSha256().equals(teacher.sha256())) {
            throw new IllegalArgumentException("teacher SHA-256 mismatch: --teacher-sha256 " + config.teacherSha256()
                    + " but " + teacher.zipPath() + " has " + teacher.sha256());
        }
        LogitModel model = new LogitModel(teacher.network());
        int features = (int) transfer.number(TransferSchema.FEATURE_COUNT);
        if (model.inputs() != features) {
            throw new IllegalArgumentException("teacher expects " + model.inputs() + " features but the transfer set has "
                    + features + ": " + config.teacher());
        }
        return new Checked(storage.qualify(config.transfer()), transfer, teacher, model);
    }

    /** Checks everything a run would, without Spark, and says what the run would do. */
    public static DryRun dryRun(Storage storage, LabelConfig config) {
        Checked c = check(storage, config);
        return new DryRun("label")
                .with("transfer", c.transfer() + " (manifest " + c.transferManifest().id() + ", "
                        + (long) c.transferManifest().number("rows") + " rows, " + c.featureCount() + " features)")
                .with("teacher", c.teacher().zipPath() + " (sha256 " + c.teacher().sha256() + ", "
                        + c.model().inputs() + " -> " + c.model().classes() + " classes)")
                .with("temperature", config.temperature())
                .with("out", storage.qualify(config.out()) + " ("
                        + StagedOutput.describe(storage, config.out(), config.mode()) + ")");
    }

    public JobResult run(LabelConfig config) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        Checked checked = check(storage, config);
        ModelArtifact teacher = checked.teacher();
        LogitModel model = checked.model();
        TransferTables.Transfer transfer = TransferTables.readTransfer(spark, config.transfer());
        LOG.info("labeling {} with teacher {} (sha256 {}), T={}", transfer.path(), teacher.zipPath(),
                teacher.sha256(), config.temperature());

        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<byte[]> zip = jsc.broadcast(teacher.bytes());
        JavaRDD<Row> labelled = transfer.rows()
                .select(TransferSchema.ID, TransferSchema.FEATURES, TransferSchema.LABEL)
                .javaRDD()
                .mapPartitions(new TeacherInference(teacher.sha256(), zip, transfer.featureCount(),
                        config.temperature(), config.batchSize()));
        try (StagedOutput out = StagedOutput.begin(storage, config.out(), config.mode());
             Progress progress = Progress.watch(spark.sparkContext(), "label", 10)) {
            try {
                TransferTables.write(spark.createDataFrame(labelled, TransferTables.SOFT_TARGETS), out.stagingDir());
            } catch (Exception e) {
                throw TransferTables.explain(e, transfer.path());
            }
            Dataset<Row> written = TransferTables.readStaged(spark, out.stagingDir());
            Row summary = TransferTables.contentSummary(written);
            long rows = summary.getLong(0);
            long expected = (long) transfer.manifest().number("rows");
            if (rows != expected) {
                throw new RuntimeException("internal error: wrote " + rows + " soft-target rows for " + expected + " transfer rows");
            }
            Manifest manifest = Manifest.sealed("label", config,
                    Map.of("transfer", new Manifest.Input(transfer.path(), transfer.manifest().id()),
                            "teacher", teacher.asInput()),
                    Manifest.facts("rows", rows, SoftTargetSchema.SCHEMA_VERSION, SoftTargetSchema.VERSION,
                            SoftTargetSchema.TEMPERATURE, config.temperature(),
                            SoftTargetSchema.CLASSES, model.classes(), "teacherSha256", teacher.sha256(),
                            "contentHash", TransferTables.contentHash(summary),
                            TransferSchema.FEATURE_COUNT, transfer.featureCount()),
                    Versions.current(), java.time.Instant.now().toString());
            JobResult result = out.publish(manifest, rows, start);
            LOG.info("labelled {} rows in {} s ({} rows/s)", rows, String.format("%.1f", result.seconds()),
                    Math.round(rows / result.seconds()));
            return result;
        } finally {
            zip.destroy();
        }
    }
}
