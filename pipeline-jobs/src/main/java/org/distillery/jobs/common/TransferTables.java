package org.distillery.jobs.common;

import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TransferSchema;

/** The Spark side of the engine-neutral schemas in model-lib: struct types, checked reads, Parquet writes. */
public final class TransferTables {
    public static final StructType SCHEMA = new StructType(new StructField[] {
        DataTypes.createStructField(TransferSchema.ID, DataTypes.LongType, false),
        DataTypes.createStructField(TransferSchema.FEATURES, DataTypes.createArrayType(DataTypes.FloatType, false), false),
        DataTypes.createStructField(TransferSchema.LABEL, DataTypes.IntegerType, true)});

    public static final StructType SOFT_TARGETS = new StructType(new StructField[] {
        DataTypes.createStructField(SoftTargetSchema.ID, DataTypes.LongType, false),
        DataTypes.createStructField(SoftTargetSchema.LABEL, DataTypes.IntegerType, true),
        DataTypes.createStructField(SoftTargetSchema.LOGITS, DataTypes.createArrayType(DataTypes.FloatType, false), false),
        DataTypes.createStructField(SoftTargetSchema.SOFT, DataTypes.createArrayType(DataTypes.FloatType, false), false)});

    private TransferTables() {
    }

    /** A published transfer set with its manifest; the columns are checked before any row is read. */
    public record Transfer(String path, Manifest manifest, Dataset<Row> rows) {
        public int featureCount() {
            return (int) manifest.number(TransferSchema.FEATURE_COUNT);
        }

        public int classes() {
            return (int) manifest.number(TransferSchema.CLASSES);
        }
    }

    public static Transfer readTransfer(SparkSession spark, String path) {
        Manifest m = Storage.of(spark).publishedManifest(path);
        Dataset<Row> rows = spark.read().parquet(path);
        requireColumns(rows, path, List.of(
                new Col(TransferSchema.ID, DataTypes.LongType),
                new Col(TransferSchema.FEATURES, DataTypes.createArrayType(DataTypes.FloatType)),
                new Col(TransferSchema.LABEL, DataTypes.IntegerType)));
        return new Transfer(Storage.of(spark).qualify(path), m, rows);
    }

    /** A published soft-target table with its manifest (schema version checked). */
    public record SoftTargets(String path, Manifest manifest, Dataset<Row> rows) {
        public double temperature() {
            return manifest.number(SoftTargetSchema.TEMPERATURE);
        }

        public int classes() {
            return (int) manifest.number(SoftTargetSchema.CLASSES);
        }
    }

    public static SoftTargets readSoftTargets(SparkSession spark, String path) {
        Manifest m = Storage.of(spark).publishedManifest(path);
        if (!"label".equals(m.job())) {
            throw new IllegalArgumentException("not a soft-target output (manifest job is '" + m.job() + "'): " + path);
        }
        SoftTargetSchema.checkVersion((int) m.number(SoftTargetSchema.SCHEMA_VERSION), path);
        Dataset<Row> rows = spark.read().parquet(path);
        requireColumns(rows, path, List.of(
                new Col(SoftTargetSchema.ID, DataTypes.LongType),
                new Col(SoftTargetSchema.LABEL, DataTypes.IntegerType),
                new Col(SoftTargetSchema.LOGITS, DataTypes.createArrayType(DataTypes.FloatType))));
        return new SoftTargets(Storage.of(spark).qualify(path), m, rows);
    }

    private record Col(String name, DataType type) {
    }

    private static void requireColumns(Dataset<Row> rows, String path, List<Col> cols) {
        StructType schema = rows.schema();
        for (Col c : cols) {
            if (!List.of(schema.fieldNames()).contains(c.name())) {
                throw new IllegalArgumentException("column '" + c.name() + "' missing in " + path + " (has "
                        + String.join(", ", schema.fieldNames()) + ")");
            }
            DataType actual = schema.apply(c.name()).dataType();
            if (!DataType.equalsIgnoreNullability(actual, c.type())) {
                throw new IllegalArgumentException("column '" + c.name() + "' in " + path + " has type "
                        + actual.simpleString() + ", expected " + c.type().simpleString());
            }
        }
    }

    /** Writes Parquet without Spark's own _SUCCESS marker: publication is {@link StagedOutput}'s job. */
    public static void write(Dataset<Row> rows, String path) {
        rows.sparkSession().sparkContext().hadoopConfiguration()
                .set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false");
        rows.write().mode("errorifexists").parquet(path);
    }

    /** Rows written under a (hidden, staging) directory: its part files are globbed, Spark skips hidden roots. */
    public static long countRows(SparkSession spark, String dir) {
        return spark.read().parquet(dir + "/part-*").count();
    }

    /** A float array column as a primitive array. */
    public static float[] floats(Row row, int field) {
        List<Float> list = row.getList(field);
        float[] f = new float[list.size()];
        for (int i = 0; i < f.length; i++) {
            Float v = list.get(i);
            f[i] = v == null ? Float.NaN : v;
        }
        return f;
    }
}
