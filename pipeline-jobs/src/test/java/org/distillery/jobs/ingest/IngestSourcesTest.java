package org.distillery.jobs.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.ingest.IngestConfig.Format;
import org.distillery.jobs.ingest.IngestConfig.Splits;
import org.distillery.model.schema.FeatureTransform;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ingest from Spark's file sources and the catalog: column mapping, ids, classes, splits and the transform. */
class IngestSourcesTest extends SparkTestBase {
    static final List<String> SPECIES = List.of("versicolor", "setosa", "virginica");
    @TempDir
    Path dir;

    /** A seeded table: key (string), n (long), species (string; every 7th row null), x0..x3 (double). */
    static Dataset<Row> table(int rows, long seed) {
        Random rng = new Random(seed);
        List<Row> out = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            String species = i % 7 == 3 ? null : SPECIES.get(rng.nextInt(3));
            out.add(RowFactory.create("row-" + i, (long) (1000 + i), species, rng.nextGaussian() * 3 + 10,
                    rng.nextDouble(), (double) rng.nextInt(256), i % 2 == 0 ? -1.5 : 2.5));
        }
        StructType schema = new StructType().add("key", DataTypes.StringType).add("n", DataTypes.LongType)
                .add("species", DataTypes.StringType).add("x0", DataTypes.DoubleType).add("x1", DataTypes.DoubleType)
                .add("x2", DataTypes.DoubleType).add("x3", DataTypes.DoubleType);
        return spark().createDataFrame(out, schema);
    }

    private String csv(Dataset<Row> rows, String name, int files) {
        String path = dir.resolve(name).toString();
        rows.repartition(files).write().option("header", "true").csv(path);
        return path;
    }

    private static IngestConfig.Builder csvIngest(String source, String out) {
        return IngestConfig.builder().source(source, Format.CSV)
                .options(Map.of("header", "true", "inferSchema", "true")).id("key").label("species")
                .featuresPrefix("x").out(out);
    }

    /** Each published row by id: label and features. */
    private Map<Long, Row> rowsOf(String path) {
        Map<Long, Row> m = new HashMap<>();
        TransferTables.readTransfer(spark(), path).rows().collectAsList().forEach(r -> m.put(r.getLong(0), r));
        return m;
    }

    @Test
    void csvWithStringLabelsBecomesTransferSetsWithClassNamesInTheManifest() {
        Dataset<Row> t = table(300, 1);
        String source = csv(t, "in.csv", 3);
        List<JobResult> results = new IngestJob(spark()).run(csvIngest(source, dir.resolve("data").toString())
                .splits(Splits.fractions(0.2, 0.1)).build());

        assertThat(results).extracting(JobResult::path).allMatch(p -> p.contains("/data/"));
        assertThat(results.stream().mapToLong(JobResult::rows).sum()).isEqualTo(300);
        Manifest m = TransferTables.readTransfer(spark(), dir.resolve("data/train").toString()).manifest();
        assertThat(TransferSchema.classNames(m)).containsExactly("setosa", "versicolor", "virginica"); // sorted
        assertThat(m.number(TransferSchema.FEATURE_COUNT)).isEqualTo(4);
        assertThat(TransferSchema.shape(m)).containsExactly(4);
        assertThat(m.text("ids")).contains("xxhash64(key)");

        // ids are Spark's xxhash64 of the string, labels the index of the sorted name, features the x columns in order
        Map<Long, Row> published = new HashMap<>();
        for (String split : List.of("train", "validation", "test")) {
            published.putAll(rowsOf(dir.resolve("data/" + split).toString()));
        }
        List<Row> expected = t.select(functions.xxhash64(functions.col("key")), functions.col("species"),
                functions.col("x0"), functions.col("x1"), functions.col("x2"), functions.col("x3")).collectAsList();
        assertThat(published).hasSize(300);
        for (Row e : expected) {
            Row r = published.get(e.getLong(0));
            assertThat(r.isNullAt(2)).isEqualTo(e.isNullAt(1));
            if (!e.isNullAt(1)) {
                assertThat(List.of("setosa", "versicolor", "virginica").get(r.getInt(2))).isEqualTo(e.getString(1));
            }
            float[] f = TransferTables.floats(r, 1);
            for (int j = 0; j < 4; j++) {
                assertThat(f[j]).isEqualTo((float) e.getDouble(2 + j));
            }
        }
    }

    @Test
    void fractionSplitsAreExactPerClassAndTheSameRowsOnEveryRerunWhateverThePartitioning() {
        Dataset<Row> t = table(700, 2);
        IngestConfig.Builder a = csvIngest(csv(t, "one.csv", 1), dir.resolve("a").toString())
                .splits(Splits.fractions(0.2, 0.1));
        IngestConfig.Builder b = csvIngest(csv(t, "seven.csv", 7), dir.resolve("b").toString())
                .splits(Splits.fractions(0.2, 0.1));
        new IngestJob(spark()).run(a.build());
        new IngestJob(spark()).run(b.build());

        Map<String, Long> perClass = t.groupBy("species").count().collectAsList().stream().collect(
                java.util.stream.Collectors.toMap(r -> String.valueOf(r.get(0)), r -> r.getLong(1)));
        for (String split : List.of("train", "validation", "test")) {
            Map<Long, Row> ra = rowsOf(dir.resolve("a/" + split).toString());
            Map<Long, Row> rb = rowsOf(dir.resolve("b/" + split).toString());
            assertThat(rb.keySet()).as(split).isEqualTo(ra.keySet());
            if (split.equals("test")) {
                // round(0.1 x rows) of each class, and of the unlabelled rows
                Map<Integer, Long> counts = new HashMap<>();
                ra.values().forEach(r -> counts.merge(r.isNullAt(2) ? -1 : r.getInt(2), 1L, Long::sum));
                List<String> names = List.of("setosa", "versicolor", "virginica");
                for (int c = 0; c < 3; c++) {
                    assertThat(counts.get(c)).isEqualTo(Math.round(0.1 * perClass.get(names.get(c))));
                }
                assertThat(counts.get(-1)).isEqualTo(Math.round(0.1 * perClass.get("null")));
                // and they are the rows whose xxhash64(seed, id) ranks first in their class, computed here directly
                List<Row> ranked = t.select(functions.coalesce(functions.col("species"), functions.lit("null"))
                                .as("c"), functions.xxhash64(functions.lit(a.build().seed()),
                                functions.xxhash64(functions.col("key"))).as("h"),
                        functions.xxhash64(functions.col("key")).as("id")).collectAsList();
                Map<String, List<Row>> byClass = new HashMap<>();
                ranked.forEach(r -> byClass.computeIfAbsent(r.getString(0), k -> new ArrayList<>()).add(r));
                java.util.Set<Long> smallest = new java.util.HashSet<>();
                byClass.forEach((c, rs) -> rs.stream().sorted(java.util.Comparator.comparingLong(r -> r.getLong(1)))
                        .limit(Math.round(0.1 * rs.size())).forEach(r -> smallest.add(r.getLong(2))));
                assertThat(ra.keySet()).isEqualTo(smallest);
            }
        }
        // another seed, other rows
        new IngestJob(spark()).run(csvIngest(csv(t, "again.csv", 2), dir.resolve("c").toString())
                .splits(Splits.fractions(0.2, 0.1)).seed(7).build());
        assertThat(rowsOf(dir.resolve("c/test").toString()).keySet())
                .isNotEqualTo(rowsOf(dir.resolve("a/test").toString()).keySet());
    }

    @Test
    void standardizationIsFittedOnTrainOnlyAndBitIdenticalAcrossPartitionings() {
        Dataset<Row> t = table(500, 3);
        new IngestJob(spark()).run(csvIngest(csv(t, "one.csv", 1), dir.resolve("a").toString())
                .splits(Splits.fractions(0.2, 0.2)).scale("1/4").standardize(true).build());
        new IngestJob(spark()).run(csvIngest(csv(t, "five.csv", 5), dir.resolve("b").toString())
                .splits(Splits.fractions(0.2, 0.2)).scale("1/4").standardize(true).build());

        Manifest m = TransferTables.readTransfer(spark(), dir.resolve("a/test").toString()).manifest();
        FeatureTransform recorded = FeatureTransform.of(m);
        assertThat(recorded.standardizes()).isTrue();
        assertThat(FeatureTransform.of(TransferTables.readTransfer(spark(), dir.resolve("b/validation").toString())
                .manifest())).isEqualTo(recorded);
        // the stored features are the recorded transform of the source values (float32, Java's arithmetic)
        Map<Long, Row> source = new HashMap<>();
        t.select(functions.xxhash64(functions.col("key")), functions.col("x0"), functions.col("x1"),
                functions.col("x2"), functions.col("x3")).collectAsList().forEach(r -> source.put(r.getLong(0), r));
        double[] sum = new double[4];
        int n = 0;
        for (String split : List.of("train", "validation", "test")) {
            Map<Long, Row> a = rowsOf(dir.resolve("a/" + split).toString());
            Map<Long, Row> b = rowsOf(dir.resolve("b/" + split).toString());
            for (Map.Entry<Long, Row> e : a.entrySet()) {
                float[] fa = TransferTables.floats(e.getValue(), 1);
                assertThat(fa).as("bit-identical on a rerun").isEqualTo(TransferTables.floats(b.get(e.getKey()), 1));
                Row s = source.get(e.getKey());
                float[] raw = {(float) s.getDouble(1), (float) s.getDouble(2), (float) s.getDouble(3),
                    (float) s.getDouble(4)};
                assertThat(fa).isEqualTo(recorded.apply(raw));
                if (split.equals("train")) {
                    for (int j = 0; j < 4; j++) {
                        sum[j] += fa[j];
                    }
                    n++;
                }
            }
        }
        for (int j = 0; j < 3; j++) {
            assertThat(sum[j] / n).as("train mean of feature %d", j).isCloseTo(0, org.assertj.core.data.Offset.offset(1e-5));
        }
        assertThat(recorded.std()[3]).isBetween(0.49f, 0.51f); // x3 alternates -1.5 and 2.5, scaled by 1/4
    }

    @Test
    void parquetArrayAndSparkMlVectorColumnsGiveTheSameRows() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            double[] x = {i, i * 0.5, -i, 1.0 / (i + 1)};
            rows.add(RowFactory.create((long) i, i % 3, x, Vectors.dense(x)));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("y", DataTypes.IntegerType)
                .add("arr", DataTypes.createArrayType(DataTypes.DoubleType))
                .add("vec", new org.apache.spark.ml.linalg.VectorUDT());
        String source = dir.resolve("in.parquet").toString();
        spark().createDataFrame(rows, schema).write().parquet(source);
        for (String column : List.of("arr", "vec")) {
            new IngestJob(spark()).run(IngestConfig.builder().source(source, Format.PARQUET).id("id").label("y")
                    .classes(List.of("a", "b", "c")).features(column).out(dir.resolve(column).toString()).build());
        }
        Map<Long, Row> arr = rowsOf(dir.resolve("arr").toString());
        Map<Long, Row> vec = rowsOf(dir.resolve("vec").toString());
        assertThat(arr).hasSize(60);
        for (long id = 0; id < 60; id++) {
            assertThat(TransferTables.floats(vec.get(id), 1)).isEqualTo(TransferTables.floats(arr.get(id), 1))
                    .containsExactly((float) id, (float) (id * 0.5), (float) -id, (float) (1.0 / (id + 1)));
            assertThat(arr.get(id).getInt(2)).isEqualTo((int) (id % 3));
        }
        Manifest m = TransferTables.readTransfer(spark(), dir.resolve("vec").toString()).manifest();
        assertThat(TransferSchema.classNames(m)).containsExactly("a", "b", "c");
        assertThat(m.text("features")).isEqualTo("Spark ML vector column vec");
    }

    @Test
    void jsonOrcAndCatalogTablesAreReadBySparksOwnReaders() {
        Dataset<Row> t = table(80, 4).drop("key");
        t.write().json(dir.resolve("in.json").toString());
        t.write().orc(dir.resolve("in.orc").toString());
        spark().sql("DROP TABLE IF EXISTS ingest_src");
        t.write().mode(SaveMode.Overwrite).option("path", dir.resolve("warehouse").toString())
                .saveAsTable("ingest_src");
        Map<Format, String> sources = Map.of(Format.JSON, dir.resolve("in.json").toString(), Format.ORC,
                dir.resolve("in.orc").toString(), Format.TABLE, "ingest_src");
        Map<Long, Row> first = null;
        for (Map.Entry<Format, String> s : sources.entrySet()) {
            String out = dir.resolve("out-" + s.getKey().id()).toString();
            new IngestJob(spark()).run(IngestConfig.builder().source(s.getValue(), s.getKey()).id("n").label("species")
                    .features("x0", "x2").out(out).build());
            Map<Long, Row> rows = rowsOf(out);
            assertThat(rows).as(s.getKey().id()).hasSize(80);
            if (first != null) {
                for (long id : rows.keySet()) {
                    assertThat(TransferTables.floats(rows.get(id), 1)).isEqualTo(TransferTables.floats(first.get(id), 1));
                }
            }
            first = rows;
        }
        spark().sql("DROP TABLE IF EXISTS ingest_src");
    }

    @Test
    void aSplitColumnSaysEachRowsSplit() {
        Dataset<Row> t = table(90, 5).withColumn("part", functions.element_at(functions.array(functions.lit("train"),
                functions.lit("validation"), functions.lit("test")), functions.pmod(functions.col("n"),
                functions.lit(3)).plus(1).cast("int")));
        String source = dir.resolve("in.parquet").toString();
        t.write().parquet(source);
        new IngestJob(spark()).run(IngestConfig.builder().source(source, Format.PARQUET).id("n").label("species")
                .featuresPrefix("x").splits(Splits.byColumn("part")).out(dir.resolve("data").toString()).build());
        List<String> names = List.of("train", "validation", "test");
        for (int k = 0; k < 3; k++) {
            final long mod = k;
            assertThat(rowsOf(dir.resolve("data/" + names.get(k)).toString()).keySet())
                    .hasSize(30).allMatch(id -> Math.floorMod(id, 3) == mod);
        }
    }
}
