package org.distillery.jobs.train;

import static org.apache.spark.sql.functions.col;

import java.util.List;
import java.util.Set;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;
import org.distillery.jobs.common.LabelledSelection;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.train.averaging.TrainerSettings;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TransferSchema;
import org.nd4j.linalg.dataset.DataSet;

/**
 * The training rows of one run: transfer features joined with the teacher's raw logits (when the objective has a
 * teacher) and hard labels kept only for the selected labelled rows. The logits are dense float[C] whatever the label
 * job stored: fp16 is widened, and a top-K row gets the tail's mass spread uniformly over the classes left out, which
 * is exact at T = 1 for the kept classes and the tail's total and an approximation at other T
 * ({@link org.distillery.model.schema.SoftTargetCodec}). Rows stay on the executors; only the ids of the labelled
 * selection reach the driver.
 */
final class TrainingRows {
    static final String LOGITS = "teacher_logits";
    static final String TEACHER_LAYER = "teacher_layer";
    private final Dataset<Row> rows;
    private final long count;
    private final long labelledCount;
    private final boolean teacherLayer;

    private TrainingRows(Dataset<Row> rows, long count, long labelledCount, boolean teacherLayer) {
        this.teacherLayer = teacherLayer;
        this.rows = rows;
        this.count = count;
        this.labelledCount = labelledCount;
    }

    static TrainingRows build(SparkSession spark, TransferTables.Transfer transfer, TransferTables.SoftTargets soft,
                              Integer labelled, long seed, Objective objective) {
        return build(spark, transfer, soft, labelled, seed, objective, false);
    }

    /** {@code teacherLayer}: also join the soft targets' stored teacher layer (hint and relation terms). */
    static TrainingRows build(SparkSession spark, TransferTables.Transfer transfer, TransferTables.SoftTargets soft,
                              Integer labelled, long seed, Objective objective, boolean teacherLayer) {
        Dataset<Row> base = transfer.rows().select(TransferSchema.ID, TransferSchema.FEATURES, TransferSchema.LABEL);
        if (labelled != null) {
            base = keepLabels(spark, base, LabelledSelection.select(spark, base, labelled, seed, transfer.classes()));
        }
        if (soft != null) {
            // one read and one join of the soft targets, with the stored teacher layer when the objective uses it
            Column[] layer = teacherLayer ? new Column[] {col(SoftTargetSchema.HINT).as(TEACHER_LAYER)} : new Column[0];
            Dataset<Row> logits = TransferTables.denseLogits(soft.rows(), soft.layout(), layer)
                    .withColumnRenamed(SoftTargetSchema.ID, "sid")
                    .withColumnRenamed(SoftTargetSchema.LOGITS, LOGITS).drop(SoftTargetSchema.LABEL);
            base = base.join(logits, base.col(TransferSchema.ID).equalTo(logits.col("sid")), "left").drop("sid");
        } else {
            base = base.withColumn(LOGITS, functions.lit(null).cast(DataTypes.createArrayType(DataTypes.FloatType)));
        }
        if (objective == Objective.HARD) {
            base = base.filter(col(TransferSchema.LABEL).isNotNull());
        }
        Row counts = base.agg(functions.count(functions.lit(1)), functions.count(col(TransferSchema.LABEL)),
                functions.count(col(LOGITS))).first();
        long n = counts.getLong(0);
        if (soft != null && counts.getLong(2) != n) {
            long id = base.filter(col(LOGITS).isNull()).select(TransferSchema.ID).first().getLong(0);
            throw new IllegalArgumentException((n - counts.getLong(2)) + " of " + n + " transfer rows have no soft target"
                    + " in " + soft.path() + ", e.g. id " + id + " (labelled from another transfer set?)");
        }
        if (n == 0) {
            throw new IllegalArgumentException("no training rows for objective " + objective.id() + " in " + transfer.path());
        }
        long transferRows = (long) transfer.manifest().number("rows");
        if (soft != null && objective != Objective.HARD && n != transferRows) { // the left join met an id twice
            throw new IllegalArgumentException("row ids repeat: joining " + transferRows + " transfer rows with the soft"
                    + " targets in " + soft.path() + " gave " + n + " rows (ids must be unique across a table, also"
                    + " across the partitions of a partitioned one)");
        }
        return new TrainingRows(base, n, counts.getLong(1), teacherLayer);
    }

    private static Dataset<Row> keepLabels(SparkSession spark, Dataset<Row> rows, Set<Long> keep) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<Set<Long>> ids = jsc.broadcast(keep);
        spark.udf().register("distillery_keep", (Long id) -> ids.value().contains(id), DataTypes.BooleanType);
        return rows.withColumn(TransferSchema.LABEL, functions.when(
                functions.call_udf("distillery_keep", col(TransferSchema.ID)), col(TransferSchema.LABEL)));
    }

    long count() {
        return count;
    }

    long labelledCount() {
        return labelledCount;
    }

    /**
     * Minibatches for one temperature, built on the executors and persisted once, cut into averaging rounds: rows are
     * shuffled by a seeded hash of their id, numbered, and partition p receives rows [p * B * F, (p + 1) * B * F) for
     * minibatch size B and averaging frequency F. No partition can hold more than F minibatches, so DL4J's worker (which
     * stops after F) never skips a row, and the trainer never shuffles them ({@link TrainerSettings#partitionsFor}).
     */
    JavaRDD<DataSet> minibatches(Objective objective, int classes, int featureCount, double temperature,
                                 TrainerSettings settings, StorageLevel storageLevel) {
        long perPartition = (long) settings.batchSize() * settings.averagingFrequency();
        int partitions = settings.partitionsFor(count);
        return rows.orderBy(functions.xxhash64(col(TransferSchema.ID), functions.lit(settings.seed())))
                .select(teacherLayer ? new Column[] {col(TransferSchema.ID), col(TransferSchema.FEATURES), col(LOGITS),
                        col(TransferSchema.LABEL), col(TEACHER_LAYER)} : new Column[] {col(TransferSchema.ID),
                        col(TransferSchema.FEATURES), col(LOGITS), col(TransferSchema.LABEL)})
                .queryExecution().toRdd().toJavaRDD() // Spark's internal rows: primitive arrays, no boxing
                .map(ToMinibatches.TrainingRow::of)
                .zipWithIndex()
                .mapToPair(rowAndIndex -> new scala.Tuple2<>(rowAndIndex._2() / perPartition, rowAndIndex._1()))
                .partitionBy(new ExactPartitioner(partitions))
                .values()
                .mapPartitions(new ToMinibatches(objective, classes, featureCount, temperature, settings.batchSize(),
                        settings.averagingFrequency()))
                .persist(storageLevel);
    }

    /** Sends key k (a block number) to partition k. */
    static final class ExactPartitioner extends org.apache.spark.Partitioner {
        private static final long serialVersionUID = 1L;
        private final int partitions;

        ExactPartitioner(int partitions) {
            this.partitions = partitions;
        }

        @Override
        public int numPartitions() {
            return partitions;
        }

        @Override
        public int getPartition(Object key) {
            long block = (Long) key;
            if (block < 0 || block >= partitions) {
                throw new RuntimeException("internal error: row block " + block + " outside [0, " + partitions + ")");
            }
            return (int) block;
        }
    }

    List<Row> sample(int n) {
        return rows.limit(n).collectAsList();
    }
}
