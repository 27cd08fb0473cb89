package org.distillery.jobs.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.CatalystTypeConverters;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.distillery.jobs.SparkTestBase;
import org.distillery.model.schema.SoftTargetLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Parquet written straight through parquet-mr's column writers ({@link ColumnWrite}) against Spark's own Parquet
 * writer on the same rows, for every soft-target layout: the same bytes in each file, the same schema and footer
 * metadata, the same rows read back by Spark, and a content summary equal to the one computed from the rows read back
 * (Spark's {@code xxhash64}, including -0.0, NaN and infinities); a failed attempt leaves no file behind its retry,
 * and tables of other types, or Spark's legacy Parquet layout, go through Spark's writer.
 */
class ColumnWriteTest extends SparkTestBase {
    @TempDir
    static Path dir;
    /** Failures injected into first attempts (Spark local mode: the tasks run in this JVM). */
    private static final AtomicInteger INJECTED = new AtomicInteger();

    /** Seeded rows of {@code schema}: nulls where a column allows them, empty and odd-valued arrays now and then. */
    private static Dataset<Row> rows(StructType schema, int n, int partitions, long seed) {
        Random r = new Random(seed);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Object[] v = new Object[schema.fields().length];
            for (int c = 0; c < v.length; c++) {
                StructField f = schema.fields()[c];
                v[c] = f.nullable() && r.nextInt(4) == 0 ? null
                        : c == 0 ? (Object) (long) i : value(f.dataType(), r, i);
            }
            rows.add(RowFactory.create(v));
        }
        return spark().createDataFrame(rows, schema).repartition(partitions);
    }

    private static Object value(DataType t, Random r, int i) {
        if (t instanceof ArrayType a) {
            int n = i % 97 == 5 ? 0 : 10;
            Object[] e = new Object[n];
            for (int j = 0; j < n; j++) {
                e[j] = value(a.elementType(), r, i + j);
            }
            return a.elementType() instanceof FloatType ? toFloats(e) : a.elementType() instanceof IntegerType
                    ? java.util.Arrays.stream(e).mapToInt(o -> (Integer) o).toArray() : e;
        }
        if (t instanceof FloatType) {
            float[] odd = {-0.0f, 0.0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
            return i % 31 == 7 ? odd[r.nextInt(odd.length)] : (float) r.nextGaussian();
        }
        if (t instanceof IntegerType) {
            return r.nextInt(10);
        }
        if (t instanceof BinaryType) {
            byte[] b = new byte[i % 53 == 3 ? 0 : 20];
            r.nextBytes(b);
            return b;
        }
        return r.nextLong();
    }

    private static float[] toFloats(Object[] e) {
        float[] f = new float[e.length];
        for (int j = 0; j < f.length; j++) {
            f[j] = (Float) e[j];
        }
        return f;
    }

    private static StructType layout(String name) {
        return switch (name) {
            case "fp32" -> TransferTables.softTargets(SoftTargetLayout.of(10, "fp32", null, true));
            case "fp16" -> TransferTables.softTargets(SoftTargetLayout.of(10, "fp16", null, false));
            case "topk-fp32" -> TransferTables.softTargets(SoftTargetLayout.of(10, "fp32", 3, true));
            case "topk-fp16" -> TransferTables.softTargets(SoftTargetLayout.of(10, "fp16", 3, false));
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static Map<String, byte[]> files(Path d) throws Exception {
        Map<String, byte[]> out = new TreeMap<>();
        try (var s = Files.list(d)) {
            for (Path f : s.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
                // the partition number: names differ in the write's uuid only
                out.put(f.getFileName().toString().substring(0, 10), Files.readAllBytes(f));
            }
        }
        return out;
    }

    private static ParquetMetadata footer(Path f) throws Exception {
        try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(
                new org.apache.hadoop.fs.Path(f.toUri()), new Configuration()))) {
            return reader.getFooter();
        }
    }

    private static List<String> sorted(Dataset<Row> rows) {
        return rows.collectAsList().stream().map(ColumnWriteTest::show).sorted().toList();
    }

    /** A row as text, binary values as hex (Row.toString prints arrays by identity). */
    private static String show(Row row) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < row.length(); i++) {
            Object v = row.get(i);
            b.append(v instanceof byte[] bytes ? java.util.HexFormat.of().formatHex(bytes)
                    : v instanceof scala.collection.Seq<?> s ? s.mkString("[", ",", "]") : String.valueOf(v));
            b.append('|');
        }
        return b.toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"fp32", "fp16", "topk-fp32", "topk-fp16"})
    void writesTheFilesSparksWriterWritesWithTheSummaryOfTheRowsReadBack(String layout) throws Exception {
        StructType schema = layout(layout);
        assertThat(ColumnWrite.unsupported(schema)).isNull();
        Dataset<Row> rows = rows(schema, 2500, 3, layout.hashCode()).cache();
        Path ours = dir.resolve(layout + "-columns");
        Path spark = dir.resolve(layout + "-spark");
        Row summary = ColumnWrite.write(rows, ours.toUri().toString(), TransferTables.plainColumnPaths(schema));
        rows.write().options(TransferTables.plainColumns(schema)).parquet(spark.toUri().toString());

        Map<String, byte[]> a = files(ours);
        Map<String, byte[]> b = files(spark);
        assertThat(a.keySet()).isEqualTo(b.keySet()).hasSize(3);
        for (String part : a.keySet()) {
            assertThat(java.util.Arrays.mismatch(a.get(part), b.get(part))).as(layout + " " + part + ": the first byte"
                    + " that differs, of " + a.get(part).length + " and " + b.get(part).length).isEqualTo(-1);
        }
        try (var s = Files.list(ours)) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")))
                    .allMatch(n -> n.startsWith("part-") && n.endsWith("-c000.snappy.parquet")); // _attempts removed
        }
        // the same rows handed over as the label job does: internal rows as made (generic rows and arrays), which
        // the tasks read without a plan between
        JavaRDD<InternalRow> made = rows.javaRDD().mapPartitions(it -> {
            scala.Function1<Object, Object> internal = CatalystTypeConverters.createToCatalystConverter(schema);
            List<InternalRow> out = new ArrayList<>();
            it.forEachRemaining(r -> out.add((InternalRow) internal.apply(r)));
            return out.iterator();
        });
        Dataset<Row> asMade = spark().internalCreateDataFrame(made.rdd(), schema, false);
        assertThat(ColumnWrite.internalRows(asMade).rdd().id()).isEqualTo(made.rdd().id());
        Path direct = dir.resolve(layout + "-made");
        Row summaryMade = ColumnWrite.write(asMade, direct.toUri().toString(), TransferTables.plainColumnPaths(schema));
        Map<String, byte[]> c = files(direct);
        assertThat(c.keySet()).isEqualTo(b.keySet());
        for (String part : c.keySet()) {
            assertThat(java.util.Arrays.mismatch(c.get(part), b.get(part))).as(layout + " " + part + " as made")
                    .isEqualTo(-1);
        }
        assertThat(TransferTables.contentHash(summaryMade)).isEqualTo(TransferTables.contentHash(summary));
        ParquetMetadata f = footer(Files.list(ours).filter(p -> p.toString().endsWith(".parquet")).findFirst()
                .orElseThrow());
        assertThat(f.getFileMetaData().getKeyValueMetaData()).containsEntry(ColumnWrite.SPARK_SCHEMA_KEY,
                schema.json()).containsKey(ColumnWrite.SPARK_VERSION_KEY);

        Dataset<Row> back = TransferTables.readStaged(spark(), ours.toUri().toString());
        assertThat(back.schema()).isEqualTo(TransferTables.readStaged(spark(), spark.toUri().toString()).schema());
        assertThat(sorted(back)).isEqualTo(sorted(rows));
        assertThat(summary.getLong(0)).isEqualTo(2500);
        assertThat(TransferTables.contentHash(summary))
                .isEqualTo(TransferTables.contentHash(TransferTables.contentSummary(back)));
        rows.unpersist();
    }

    /** Partition 1's rows, except that its first attempt fails halfway through them. */
    private static java.util.Iterator<Row> failFirstAttemptOfPartition1(java.util.Iterator<Row> it) {
        TaskContext ctx = TaskContext.get();
        List<Row> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        if (ctx.partitionId() != 1 || ctx.attemptNumber() != 0) {
            return out.iterator();
        }
        return new java.util.Iterator<>() {
            private int i;

            @Override
            public boolean hasNext() {
                if (i == out.size() / 2) {
                    INJECTED.incrementAndGet();
                    throw new RuntimeException("injected failure of the first attempt");
                }
                return true;
            }

            @Override
            public Row next() {
                return out.get(i++);
            }
        };
    }

    @Test
    void aFailedAttemptLeavesNothingBehindItsRetry() throws Exception {
        StructType schema = layout("fp32");
        Dataset<Row> good = rows(schema, 600, 3, 5).cache();
        JavaRDD<Row> failing = good.javaRDD().mapPartitions(ColumnWriteTest::failFirstAttemptOfPartition1);
        Path d = dir.resolve("retried");
        INJECTED.set(0);
        Row summary = ColumnWrite.write(spark().createDataFrame(failing, schema), d.toUri().toString(),
                TransferTables.plainColumnPaths(schema));
        assertThat(INJECTED.get()).isEqualTo(1);
        assertThat(summary.getLong(0)).isEqualTo(600);
        try (var s = Files.list(d)) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).toList()).hasSize(3)
                    .allMatch(n -> n.startsWith("part-0000"));
        }
        Dataset<Row> back = TransferTables.readStaged(spark(), d.toUri().toString());
        assertThat(sorted(back)).isEqualTo(sorted(good));
        assertThat(TransferTables.contentHash(summary))
                .isEqualTo(TransferTables.contentHash(TransferTables.contentSummary(good)));
        good.unpersist();
    }

    @Test
    void emptyPartitionsWriteNoFileButTheFirstKeepsTheSchema() throws Exception {
        StructType schema = layout("fp32");
        Path d = dir.resolve("empty");
        Row summary = ColumnWrite.write(rows(schema, 0, 3, 1), d.toUri().toString(), java.util.Set.of());
        assertThat(summary.getLong(0)).isZero();
        assertThat(TransferTables.contentHash(summary)).isEqualTo("xxhash64-sum:0:0000000000000000");
        try (var s = Files.list(d)) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).toList()).singleElement()
                    .matches(n -> n.startsWith("part-00000-"));
        }
        assertThat(TransferTables.readStaged(spark(), d.toUri().toString()).schema().fieldNames())
                .containsExactly(schema.fieldNames());
        assertThatThrownBy(() -> ColumnWrite.write(rows(schema, 5, 1, 1), d.toUri().toString(), java.util.Set.of()))
                .hasMessageContaining("exists already");
    }

    @Test
    void otherTablesGoThroughSparksWriterWithTheSameSummary() throws Exception {
        StructType nested = new StructType().add("id", DataTypes.LongType, false)
                .add("name", DataTypes.StringType, true);
        assertThat(ColumnWrite.unsupported(nested)).isEqualTo("column name is of type string");
        assertThat(ColumnWrite.unsupported(new StructType().add("v",
                DataTypes.createArrayType(DataTypes.FloatType, true), false)))
                .isEqualTo("column v is an array that may hold nulls");
        Dataset<Row> rows = spark().createDataFrame(List.of(RowFactory.create(1L, "a"), RowFactory.create(2L, null)),
                nested);
        Path d = dir.resolve("strings");
        Row summary = TransferTables.writeObserved(rows, d.toUri().toString());
        assertThat(TransferTables.contentHash(summary))
                .isEqualTo(TransferTables.contentHash(TransferTables.contentSummary(rows)));
        assertThat(TransferTables.readStaged(spark(), d.toUri().toString()).count()).isEqualTo(2);

        StructType soft = layout("fp32"); // Spark's legacy Parquet layout is Spark's to write
        spark().conf().set("spark.sql.parquet.writeLegacyFormat", "true");
        try {
            assertThat(ColumnWrite.unsupported(spark(), soft)).isEqualTo("spark.sql.parquet.writeLegacyFormat is set");
            Dataset<Row> legacy = rows(soft, 50, 2, 3);
            Path l = dir.resolve("legacy");
            Row s = TransferTables.writeObserved(legacy, l.toUri().toString());
            assertThat(TransferTables.contentHash(s))
                    .isEqualTo(TransferTables.contentHash(TransferTables.contentSummary(legacy)));
        } finally {
            spark().conf().unset("spark.sql.parquet.writeLegacyFormat");
        }
        assertThat(ColumnWrite.unsupported(spark(), soft)).isNull();
    }
}
