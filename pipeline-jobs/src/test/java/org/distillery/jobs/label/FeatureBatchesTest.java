package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.InputHash;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The label job's direct feature path ({@link FeatureBatches}) against Spark's row projection on the same transfer
 * sets: the same soft-target rows, value for value, on every layout the path accepts; anything else goes the row way
 * and says why.
 */
class FeatureBatchesTest extends SparkTestBase {
    @TempDir
    static Path dir;
    static String teacherZip;

    @BeforeAll
    static void fixtures() {
        teacherZip = Fixtures.saveZip(spark(), Fixtures.teacher(3, 5), dir.resolve("teacher.zip").toString());
    }

    /**
     * Pixel-like rows as ingest writes Fashion-MNIST (k / 255, half zeros: dictionary-encoded pages), some without a
     * label, one row with a negative zero.
     */
    private static List<Row> pixels(int n, long seed) {
        java.util.Random r = new java.util.Random(seed);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[] x = new float[Fixtures.FEATURES];
            for (int j = 0; j < x.length; j++) {
                x[j] = r.nextBoolean() ? 0f : (1 + r.nextInt(255)) / 255f;
            }
            if (i == 3) {
                x[0] = -0.0f;
            }
            rows.add(RowFactory.create(10_000L + i, x, i % 5 == 0 ? null : i % Fixtures.CLASSES));
        }
        return rows;
    }

    private static List<Row> label(String transfer, String out, boolean batches, LabelConfigBuilder more) {
        spark().conf().set(FeatureBatches.ENABLED, String.valueOf(batches));
        try {
            new LabelJob(spark()).run(more.teacher(teacherZip).temperature(2.0).batchSize(64).build());
        } finally {
            spark().conf().unset(FeatureBatches.ENABLED);
        }
        return spark().read().parquet(out).orderBy("id").collectAsList();
    }

    private static void sameBothWays(String name, String transfer, java.util.function.UnaryOperator<LabelConfigBuilder>
            layout) {
        FeatureBatches plan = FeatureBatches.plan(TransferTables.readTransfer(spark(), transfer).rows());
        assertThat(plan.accepted()).isTrue();
        // the fixtures' three part files on two slots: two partitions of equal rows, one starting inside a file
        long rows = (long) Storage.of(spark()).publishedManifest(transfer).number("rows");
        List<Long> perPartition = plan.batches().toJavaRDD().mapPartitions(it -> {
            long n = 0;
            while (it.hasNext()) {
                SlicedScan.Slice slice = it.next();
                n += slice.to() - slice.from();
            }
            return List.of(n).iterator();
        }).collect();
        assertThat(perPartition).hasSize(spark().sparkContext().defaultParallelism()).allSatisfy(n ->
                assertThat(n).isBetween(rows / perPartition.size(), rows / perPartition.size() + 1));
        String rowsOut = dir.resolve(name + "-rows").toString();
        String batchOut = dir.resolve(name + "-batches").toString();
        List<Row> viaRows = label(transfer, rowsOut, false, layout.apply(LabelConfig.builder(transfer, rowsOut)));
        List<Row> viaBatches = label(transfer, batchOut, true, layout.apply(LabelConfig.builder(transfer, batchOut)));
        assertThat(viaBatches).hasSize((int) Storage.of(spark()).publishedManifest(transfer).number("rows"));
        // Row.equals compares arrays by content and floats bit for bit: the same stored values and input hashes
        assertThat(viaBatches).isEqualTo(viaRows);
        Manifest a = Storage.of(spark()).publishedManifest(rowsOut);
        Manifest b = Storage.of(spark()).publishedManifest(batchOut);
        assertThat(b.text("contentHash")).isEqualTo(a.text("contentHash"));
        assertThat(b.facts()).containsEntry(InputHash.FACT, InputHash.VERSION);
    }

    /** The encodings of the features column's chunks in a published transfer set's part files. */
    private static java.util.Set<String> featureEncodings(String transfer) {
        java.util.Set<String> encodings = new java.util.TreeSet<>();
        try (var files = java.nio.file.Files.list(Path.of(java.net.URI.create(transfer)))) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".parquet")).toList()) {
                try (var reader = org.apache.parquet.hadoop.ParquetFileReader.open(
                        org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(
                                new org.apache.hadoop.fs.Path(f.toUri()), new org.apache.hadoop.conf.Configuration()))) {
                    reader.getFooter().getBlocks().forEach(b -> b.getColumns().stream()
                            .filter(c -> c.getPath().toDotString().startsWith("features."))
                            .forEach(c -> c.getEncodings().forEach(e -> encodings.add(e.name()))));
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return encodings;
    }

    @Test
    void givesTheRowPathsSoftTargetsOnDictionaryAndPlainPagesAcrossColumnBatches() {
        String pixels = Fixtures.publishTransfer(spark(), dir.resolve("pixels").toString(), pixels(700, 1),
                Fixtures.FEATURES);
        String dense = Fixtures.transferSet(spark(), dir.resolve("dense").toString(), 300, 5, 0);
        assertThat(featureEncodings(pixels)).contains("PLAIN_DICTIONARY");
        assertThat(featureEncodings(dense)).doesNotContain("RLE_DICTIONARY", "PLAIN_DICTIONARY");
        // small reader batches: column batches end in the middle of the teacher's 64-row batches
        spark().conf().set("spark.sql.parquet.columnarReaderBatchSize", "37");
        try {
            sameBothWays("pixels", pixels, b -> b);
            sameBothWays("dense", dense, b -> b);
            sameBothWays("topk-fp16", pixels, b -> b.topK(3).precision("fp16"));
            sameBothWays("hint", dense, b -> b.hintLayer(0));
        } finally {
            spark().conf().unset("spark.sql.parquet.columnarReaderBatchSize");
        }
        // the stored hash is InputHash.of over the row's features and label
        Row r = spark().read().parquet(dir.resolve("pixels-batches").toString()).where("id = 10003").first();
        Row in = TransferTables.readTransfer(spark(), pixels).rows().where("id = 10003").first();
        float[] x = TransferTables.floats(in, 1);
        assertThat(x[0]).isEqualTo(-0.0f);
        assertThat(r.getLong(r.fieldIndex("input_hash"))).isEqualTo(InputHash.of(x, 0, x.length, in.getInt(2)));
    }

    @Test
    void takesTheRowWayAndSaysWhyWhenTheScanGivesNoColumnBatches() {
        String dense = Fixtures.transferSet(spark(), dir.resolve("nested-off").toString(), 50, 7, 0);
        TransferTables.Transfer t = TransferTables.readTransfer(spark(), dense);
        assertThat(FeatureBatches.plan(t.rows()).accepted()).isTrue();
        spark().conf().set("spark.sql.parquet.enableNestedColumnVectorizedReader", "false");
        try {
            FeatureBatches refused = FeatureBatches.plan(TransferTables.readTransfer(spark(), dense).rows());
            assertThat(refused.accepted()).isFalse();
            assertThat(refused.refusal()).startsWith("the scan does not read column batches");
            // and the job still labels every row, the row way
            String out = dir.resolve("nested-off-soft").toString();
            assertThat(label(dense, out, true, LabelConfig.builder(dense, out))).hasSize(50);
        } finally {
            spark().conf().unset("spark.sql.parquet.enableNestedColumnVectorizedReader");
        }
        spark().conf().set(FeatureBatches.ENABLED, "false");
        try {
            assertThat(FeatureBatches.plan(t.rows()).refusal()).isEqualTo(FeatureBatches.ENABLED + " is false");
        } finally {
            spark().conf().unset(FeatureBatches.ENABLED);
        }
        assertThat(FeatureBatches.plan(t.rows().where("id > 3")).refusal()).isNotNull();
    }

    @Test
    void refusesBadRowsAsTheRowPathDoes() {
        List<Row> rows = pixels(40, 2);
        float[] bad = ((float[]) rows.get(17).get(1)).clone();
        bad[10] = Float.POSITIVE_INFINITY;
        rows.set(17, RowFactory.create(rows.get(17).getLong(0), bad, 1));
        String transfer = Fixtures.publishTransfer(spark(), dir.resolve("bad").toString(), rows, Fixtures.FEATURES);
        for (boolean batches : new boolean[] {true, false}) {
            String out = dir.resolve("bad-soft-" + batches).toString();
            assertThatThrownBy(() -> label(transfer, out, batches, LabelConfig.builder(transfer, out)))
                    .hasStackTraceContaining("non-finite feature value Infinity for id 10017");
            assertThat(Path.of(out)).doesNotExist();
        }
    }
}
