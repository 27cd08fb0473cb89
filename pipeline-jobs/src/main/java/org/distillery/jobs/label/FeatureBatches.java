package org.distillery.jobs.label;

import java.util.Iterator;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.execution.ColumnarToRowExec;
import org.apache.spark.sql.execution.FileSourceScanExec;
import org.apache.spark.sql.execution.InputAdapter;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.WholeStageCodegenExec;
import org.apache.spark.sql.execution.vectorized.WritableColumnVector;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.distillery.jobs.common.InputHash;
import org.distillery.model.schema.TransferSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The label job's direct feature path: transfer rows read from the Parquet files' pages ({@link PageScan}) or, for
 * files whose layout it does not take, as the Parquet scan's column batches, each row's features going straight into
 * the teacher's batch buffer, validated and hashed in the same pass. It replaces Spark's row projection, which copied
 * every feature array element by element into a fresh {@code UnsafeRow} only to compute the input hash: ~30% of the
 * task threads' Java time (docs/PERFORMANCE.md, "Label job").
 *
 * <p>The input hash is {@link InputHash#of}, the function behind the row path's column, so every path writes the
 * same bytes. Anything the scan does not give as Parquet column batches of the transfer schema (another reader, a
 * plan with more than a scan) goes the row way; {@link #plan} says which way and why in the log.
 */
final class FeatureBatches {
    private static final Logger LOG = LoggerFactory.getLogger(FeatureBatches.class);
    /** Spark configuration key: false reads every transfer set through Spark's row projection. */
    static final String ENABLED = "spark.distillery.label.featureBatches";

    private final RDD<SlicedScan.Slice> batches;
    private final PageScan pages;
    private final String refusal;
    private final String pagesRefusal;
    private final Columns columns;

    private FeatureBatches(RDD<SlicedScan.Slice> batches, PageScan pages, String refusal, String pagesRefusal,
                           Columns columns) {
        this.batches = batches;
        this.pages = pages;
        this.refusal = refusal;
        this.pagesRefusal = pagesRefusal;
        this.columns = columns;
    }

    /**
     * The column batches of transfer rows {@code rows} (the id, features and label columns of a published transfer
     * set), or, when its physical plan is not a bare columnar Parquet scan, a refusal saying why (logged).
     */
    static FeatureBatches plan(Dataset<Row> rows) {
        if (!Boolean.parseBoolean(rows.sparkSession().conf().get(ENABLED, "true"))) {
            return refused(ENABLED + " is false");
        }
        Dataset<Row> selected = rows.select(TransferSchema.ID, TransferSchema.FEATURES, TransferSchema.LABEL);
        SparkPlan plan = selected.queryExecution().executedPlan();
        String why;
        SparkPlan node = plan;
        while (node instanceof WholeStageCodegenExec || node instanceof ColumnarToRowExec
                || node instanceof InputAdapter) {
            node = node.children().apply(0);
        }
        if (!(node instanceof FileSourceScanExec scan)) {
            why = "the plan is not a bare file scan: " + plan.simpleString(10);
        } else if (!(scan.relation().fileFormat()
                instanceof org.apache.spark.sql.execution.datasources.parquet.ParquetFileFormat)) {
            why = "the scan reads " + scan.relation().fileFormat() + ", not Parquet";
        } else if (!scan.supportsColumnar()) {
            why = "the scan does not read column batches (spark.sql.parquet.enableVectorizedReader off, or a schema"
                    + " the vectorized reader does not take)";
        } else if (!scan.dataFilters().isEmpty() || !scan.partitionFilters().isEmpty()) {
            why = "the scan filters rows";
        } else {
            int id = ordinal(scan, TransferSchema.ID);
            int features = ordinal(scan, TransferSchema.FEATURES);
            int label = ordinal(scan, TransferSchema.LABEL);
            if (id < 0 || features < 0 || label < 0 || scan.output().size() != 3) {
                why = "the scan's columns are " + scan.output().mkString(", ");
            } else if (!scan.output().apply(id).dataType().equals(DataTypes.LongType)
                    || !scan.output().apply(label).dataType().equals(DataTypes.IntegerType)
                    || !(scan.output().apply(features).dataType() instanceof org.apache.spark.sql.types.ArrayType t
                        && t.elementType().equals(DataTypes.FloatType))) {
                why = "the scan's column types are not the transfer schema's: " + scan.schema().simpleString();
            } else {
                return sliced(selected, scan, new Columns(id, features, label));
            }
        }
        return refused(why);
    }

    /**
     * The transfer rows in {@link SlicedScan}'s partitions (equal rows, a multiple of the task slots): the selection
     * planned again with one whole file per scan partition, read by {@link PageScan} where every file's layout is one
     * it reads, else as the scan's column batches (its reason logged); or, when that plan does not slice (its reason
     * logged), as the column batches of Spark's partitions of {@code scan} as {@link #balanced} plans them.
     */
    private static FeatureBatches sliced(Dataset<Row> selected, FileSourceScanExec scan, Columns columns) {
        org.apache.spark.sql.SparkSession spark = selected.sparkSession();
        int slots = spark.sparkContext().defaultParallelism();
        SparkPlan again = selected.select("*").queryExecution().executedPlan(); // a fresh scan, its files not planned
        while (!(again instanceof FileSourceScanExec) && again.children().size() == 1) {
            again = again.children().apply(0);
        }
        String[] why = {"the plan changed between two reads: " + again.simpleString(10)};
        if (again instanceof FileSourceScanExec files) {
            RDD<ColumnarBatch> whole = wholeFiles(spark, () -> readerBatches(spark, files::executeColumnar));
            org.apache.hadoop.conf.Configuration conf = spark.sessionState()
                    .newHadoopConfWithOptions(files.relation().options());
            SlicedScan s = SlicedScan.over(whole, conf, slots, why);
            if (s != null) {
                String[] whyNot = {sessionRefusal(spark)};
                PageScan pages = whyNot[0] != null ? null : PageScan.over(s, conf, whyNot);
                if (pages != null) {
                    LOG.info("label: reading features straight from the transfer set's Parquet pages, {}", why[0]);
                    return new FeatureBatches(null, pages, null, null, columns);
                }
                LOG.info("label: reading features straight from the Parquet scan's column batches, {}; not from the"
                        + " pages: {}", why[0], whyNot[0]);
                return new FeatureBatches(s, null, null, whyNot[0], columns);
            }
        }
        RDD<ColumnarBatch> batches = balanced(spark, () -> readerBatches(spark, scan::executeColumnar));
        LOG.info("label: reading features straight from the Parquet scan's column batches, {} partitions as Spark"
                + " plans them ({})", batches.getNumPartitions(), why[0]);
        return new FeatureBatches(batches.toJavaRDD().map(b -> new SlicedScan.Slice(b, 0, b.numRows())).rdd(), null,
                null, "the scan is not sliced", columns);
    }

    /** Why the session keeps {@link PageScan} from reading, or null. */
    private static String sessionRefusal(org.apache.spark.sql.SparkSession spark) {
        if (!Boolean.parseBoolean(spark.conf().get(PageScan.ENABLED, "true"))) {
            return PageScan.ENABLED + " is false";
        }
        for (String key : new String[] {"spark.sql.files.ignoreCorruptFiles", "spark.sql.files.ignoreMissingFiles"}) {
            if (Boolean.parseBoolean(spark.conf().get(key, "false"))) {
                return key + " is true (Spark's reader skips such files)";
            }
        }
        return null;
    }

    /** What {@code plan} plans, each file whole in a partition of its own (no split, no packing). */
    private static <T> T wholeFiles(org.apache.spark.sql.SparkSession spark, java.util.function.Supplier<T> plan) {
        // splits of at most maxPartitionBytes, packed while bytes + openCostInBytes per file stay under it: a file is
        // never split and never joined when both are far above any file's size
        String big = String.valueOf(1L << 40);
        return withConf(spark, java.util.Map.of("spark.sql.files.maxPartitionBytes", big,
                "spark.sql.files.openCostInBytes", big), plan);
    }

    /**
     * What {@code plan} plans, its Parquet readers decoding {@link #READER_BATCH} rows at a time (Spark's default is
     * 4096), unless the session sets {@code spark.sql.parquet.columnarReaderBatchSize} itself.
     */
    private static <T> T readerBatches(org.apache.spark.sql.SparkSession spark, java.util.function.Supplier<T> plan) {
        String key = "spark.sql.parquet.columnarReaderBatchSize";
        return spark.conf().contains(key) ? plan.get()
                : withConf(spark, java.util.Map.of(key, String.valueOf(READER_BATCH)), plan);
    }

    /**
     * Rows per column batch of the label job's scan: the teacher's default batch. Spark's 4096 rows of 784 features
     * decode into arrays of 12.8 MB (dictionary ids, then floats), out of cache by the time the rows are copied out
     * (docs/PERFORMANCE.md, label job: reading the input).
     */
    static final int READER_BATCH = 1024;

    /** What {@code plan} plans (file partitions are planned then) with {@code keys} set; the session's restored. */
    private static <T> T withConf(org.apache.spark.sql.SparkSession spark, java.util.Map<String, String> keys,
                                  java.util.function.Supplier<T> plan) {
        java.util.Map<String, String> before = new java.util.HashMap<>();
        keys.forEach((k, v) -> {
            if (spark.conf().contains(k)) {
                before.put(k, spark.conf().get(k));
            }
            spark.conf().set(k, v);
        });
        try {
            return plan.get();
        } finally {
            keys.keySet().forEach(k -> {
                if (before.containsKey(k)) {
                    spark.conf().set(k, before.get(k));
                } else {
                    spark.conf().unset(k);
                }
            });
        }
    }

    /**
     * What {@code plan} plans, with the Parquet scans it plans asked for at least {@link #PARTITIONS_PER_SLOT}
     * partitions per task slot: Spark packs files into partitions of up to 128 MB, which left e.g. 7 partitions for a
     * 1M-row transfer set on 2 slots, the last one running alone on one core. Unless the session sets
     * {@code spark.sql.files.minPartitionNum} itself. The row path's partitions, and the column path's when it does
     * not slice (byte splits cannot split a row group: {@link SlicedScan} can).
     */
    static <T> T balanced(org.apache.spark.sql.SparkSession spark, java.util.function.Supplier<T> plan) {
        String key = "spark.sql.files.minPartitionNum";
        return spark.conf().contains(key) ? plan.get() : withConf(spark,
                java.util.Map.of(key, String.valueOf(PARTITIONS_PER_SLOT * spark.sparkContext().defaultParallelism())),
                plan);
    }

    /** Partitions per task slot the scan is asked for: the idle share of the last round is at most 1 / (2 x this). */
    static final int PARTITIONS_PER_SLOT = 4;

    private static FeatureBatches refused(String why) {
        LOG.info("label: reading features through Spark's row projection: {}", why);
        return new FeatureBatches(null, null, why, why, null);
    }

    /** Whether the rows can be read as column batches; else {@link #refusal()} says why. */
    boolean accepted() {
        return refusal == null;
    }

    /** Why the rows go the row way, or null. */
    String refusal() {
        return refusal;
    }

    private static int ordinal(FileSourceScanExec scan, String name) {
        scala.collection.Iterator<Attribute> it = scan.output().iterator();
        for (int i = 0; it.hasNext(); i++) {
            if (it.next().name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    /** Why the rows are not read from the files' pages, or null when they are. */
    String pagesRefusal() {
        return pagesRefusal;
    }

    /** Whether the rows are read from the files' pages ({@link PageScan}) rather than Spark's column batches. */
    boolean fromPages() {
        return pages != null;
    }

    /** {@code f} over each partition's rows of {@code featureCount} features; only when {@link #accepted()}. */
    <T> org.apache.spark.api.java.JavaRDD<T> map(int featureCount,
                                                 org.apache.spark.api.java.function.FlatMapFunction<Rows, T> f) {
        if (pages != null) {
            return pages.map(featureCount, f);
        }
        Columns c = columns;
        return batches.toJavaRDD().mapPartitions(it -> f.call(c.cursor(it, featureCount)));
    }

    /** Column positions in the scan's batches. */
    record Columns(int id, int features, int label) implements java.io.Serializable {
        /** A cursor over one partition's batches. */
        Cursor cursor(Iterator<SlicedScan.Slice> it, int featureCount) {
            return new Cursor(it, id, features, label, featureCount);
        }
    }

    /** A partition's transfer rows, read in order: each row's id, then label, then its features copied and hashed. */
    interface Rows {
        boolean hasNext();

        long id();

        /** The current row's label, or null. */
        Integer label();

        /**
         * Copies the current row's features into {@code into} from {@code offset}, checked as the row path checks
         * them, and returns the row's input hash; then moves to the next row.
         */
        long copyAndHash(long id, Integer label, float[] into, int offset);
    }

    /** Reads rows out of a partition's column batches; the current batch is reused by the reader once left. */
    static final class Cursor implements Rows {
        private final Iterator<SlicedScan.Slice> it;
        private final int idColumn;
        private final int featuresColumn;
        private final int labelColumn;
        private final int featureCount;
        private ColumnarBatch batch;
        private int row;
        private int end;
        private ColumnVector ids;
        private ColumnVector labels;
        private ColumnVector features;
        private WritableColumnVector elements;
        private boolean elementNulls;

        Cursor(Iterator<SlicedScan.Slice> it, int idColumn, int featuresColumn, int labelColumn, int featureCount) {
            this.it = it;
            this.idColumn = idColumn;
            this.featuresColumn = featuresColumn;
            this.labelColumn = labelColumn;
            this.featureCount = featureCount;
        }

        @Override
        public boolean hasNext() {
            while (batch == null || row >= end) {
                if (!it.hasNext()) {
                    return false;
                }
                SlicedScan.Slice s = it.next();
                batch = s.batch();
                row = s.from();
                end = s.to();
                ids = batch.column(idColumn);
                labels = batch.column(labelColumn);
                features = batch.column(featuresColumn);
                elements = (WritableColumnVector) ((WritableColumnVector) features).getChild(0);
                elementNulls = elements.hasNull();
            }
            return true;
        }

        @Override
        public long id() {
            return ids.getLong(row);
        }

        @Override
        public Integer label() {
            return labels.isNullAt(row) ? null : labels.getInt(row);
        }

        @Override
        public long copyAndHash(long id, Integer label, float[] into, int offset) {
            if (features.isNullAt(row)) {
                throw new IllegalArgumentException("features are null for id " + id);
            }
            WritableColumnVector f = (WritableColumnVector) features;
            int length = f.getArrayLength(row);
            if (length != featureCount) {
                throw new IllegalArgumentException("feature length " + length + " != " + featureCount + " for id "
                        + id);
            }
            int start = f.getArrayOffset(row);
            WritableColumnVector e = elements;
            float finite = 0f;
            for (int j = 0; j < featureCount; j++) {
                float v = e.getFloat(start + j);
                into[offset + j] = v;
                finite += v * 0f; // NaN once any value is NaN or infinite
            }
            if (finite != 0f || elementNulls) {
                for (int j = 0; j < featureCount; j++) {
                    float v = into[offset + j];
                    boolean isNull = elementNulls && e.isNullAt(start + j);
                    if (!Float.isFinite(v) || isNull) {
                        throw new IllegalArgumentException("non-finite feature value " + (isNull ? Float.NaN : v)
                                + " for id " + id);
                    }
                }
            }
            row++;
            return InputHash.of(into, offset, featureCount, label);
        }
    }
}
