package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.PythonScript;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.InputHash;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
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
        return pixels(n, seed, 255);
    }

    /**
     * As {@link #pixels(int, long)} with values k / {@code levels} (dictionary ids of another bit width), and every
     * third row's first half zeros (runs the encoder writes as RLE rather than bit-packed).
     */
    private static List<Row> pixels(int n, long seed, int levels) {
        java.util.Random r = new java.util.Random(seed);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[] x = new float[Fixtures.FEATURES];
            for (int j = 0; j < x.length; j++) {
                boolean zero = r.nextBoolean() || (i % 3 == 1 && j < x.length / 2);
                x[j] = zero ? 0f : (1 + r.nextInt(levels)) / (float) levels;
            }
            if (i == 3) {
                x[0] = -0.0f;
            }
            rows.add(RowFactory.create(10_000L + i, x, i % 5 == 0 ? null : i % Fixtures.CLASSES));
        }
        return rows;
    }

    /** How the label job reads the transfer rows. */
    enum Way { ROWS, BATCHES, PAGES }

    private static List<Row> label(String transfer, String out, Way way, LabelConfigBuilder more) {
        spark().conf().set(FeatureBatches.ENABLED, String.valueOf(way != Way.ROWS));
        spark().conf().set(PageScan.ENABLED, String.valueOf(way == Way.PAGES));
        try {
            new LabelJob(spark()).run(more.teacher(teacherZip).temperature(2.0).batchSize(64).build());
        } finally {
            spark().conf().unset(FeatureBatches.ENABLED);
            spark().conf().unset(PageScan.ENABLED);
        }
        return spark().read().parquet(out).orderBy("id").collectAsList();
    }

    /** Rows per partition as {@code plan} reads them. */
    private static List<Long> rowsPerPartition(FeatureBatches plan, int featureCount) {
        return plan.map(featureCount, it -> {
            long n = 0;
            float[] x = new float[featureCount];
            while (it.hasNext()) {
                long id = it.id();
                it.copyAndHash(id, it.label(), x, 0);
                n++;
            }
            return List.of(n).iterator();
        }).collect();
    }

    /**
     * The soft targets of the row path, the column batch path and (when {@code pages}, else it must refuse) the page
     * path: value for value, with the same content hash.
     */
    private static void sameEveryWay(String name, String transfer, boolean pages,
                                     java.util.function.UnaryOperator<LabelConfigBuilder> layout) {
        TransferTables.Transfer t = TransferTables.readTransfer(spark(), transfer);
        FeatureBatches plan = FeatureBatches.plan(t.rows());
        assertThat(plan.accepted()).isTrue();
        assertThat(plan.fromPages()).as("page reader: %s", plan.pagesRefusal()).isEqualTo(pages);
        // the fixtures' part files on two slots: two partitions of equal rows, starting inside files
        long rows = (long) Storage.of(spark()).publishedManifest(transfer).number("rows");
        List<Long> perPartition = rowsPerPartition(plan, t.featureCount());
        assertThat(perPartition).hasSize(spark().sparkContext().defaultParallelism()).allSatisfy(n ->
                assertThat(n).isBetween(rows / perPartition.size(), rows / perPartition.size() + 1));
        List<Row> viaRows = null;
        Manifest first = null;
        for (Way way : Way.values()) {
            String out = dir.resolve(name + "-" + way.name().toLowerCase(java.util.Locale.ROOT)).toString();
            List<Row> got = label(transfer, out, way, layout.apply(LabelConfig.builder(transfer, out)));
            Manifest m = Storage.of(spark()).publishedManifest(out);
            assertThat(got).hasSize((int) rows);
            assertThat(m.facts()).containsEntry(InputHash.FACT, InputHash.VERSION);
            if (viaRows == null) {
                viaRows = got;
                first = m;
            } else {
                // Row.equals compares arrays by content and floats bit for bit: the same stored values and hashes
                assertThat(got).as(way.name()).isEqualTo(viaRows);
                assertThat(m.text("contentHash")).isEqualTo(first.text("contentHash"));
            }
        }
    }

    @Test
    void givesTheRowPathsSoftTargetsOnDictionaryAndPlainPagesAcrossColumnBatches() {
        String pixels = Fixtures.publishTransfer(spark(), dir.resolve("pixels").toString(), pixels(700, 1),
                Fixtures.FEATURES);
        String dense = Fixtures.transferSet(spark(), dir.resolve("dense").toString(), 300, 5, 0);
        assertThat(footers(pixels).encodings()).contains("PLAIN_DICTIONARY");
        assertThat(footers(dense).encodings()).doesNotContain("RLE_DICTIONARY", "PLAIN_DICTIONARY");
        // small reader batches: column batches end in the middle of the teacher's 64-row batches
        spark().conf().set("spark.sql.parquet.columnarReaderBatchSize", "37");
        try {
            sameEveryWay("pixels", pixels, true, b -> b);
            sameEveryWay("dense", dense, true, b -> b);
            sameEveryWay("topk-fp16", pixels, true, b -> b.topK(3).precision("fp16"));
            sameEveryWay("hint", dense, true, b -> b.hintLayer(0));
        } finally {
            spark().conf().unset("spark.sql.parquet.columnarReaderBatchSize");
        }
        // the stored hash is InputHash.of over the row's features and label
        Row r = spark().read().parquet(dir.resolve("pixels-pages").toString()).where("id = 10003").first();
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
            assertThat(label(dense, out, Way.PAGES, LabelConfig.builder(dense, out))).hasSize(50);
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
        for (Way way : Way.values()) {
            String out = dir.resolve("bad-soft-" + way).toString();
            assertThatThrownBy(() -> label(transfer, out, way, LabelConfig.builder(transfer, out)))
                    .hasStackTraceContaining("non-finite feature value Infinity for id 10017");
            assertThat(Path.of(out)).doesNotExist();
        }
    }

    /** The transfer schema with every column nullable, features' elements too (as pyarrow and others write it). */
    private static final org.apache.spark.sql.types.StructType NULLABLE = new org.apache.spark.sql.types.StructType()
            .add(TransferSchema.ID, DataTypes.LongType, true)
            .add(TransferSchema.FEATURES, DataTypes.createArrayType(DataTypes.FloatType, true), true)
            .add(TransferSchema.LABEL, DataTypes.IntegerType, true);

    /**
     * Publishes {@code rows} as three part files Spark writes with {@code schema} and writer {@code options}; the
     * writer checks the sizes of pages and row groups every 8 rows (not after 100 at first).
     */
    private static String publish(String name, List<Row> rows, org.apache.spark.sql.types.StructType schema,
                                  Map<String, String> options) {
        Map<String, String> all = new java.util.HashMap<>(Map.of("parquet.page.size.row.check.min", "8",
                "parquet.page.size.row.check.max", "8"));
        all.putAll(options);
        return Fixtures.publishTransferFiles(spark(), dir.resolve(name).toString(), rows.size(), Fixtures.FEATURES,
                staging -> {
                    spark().sparkContext().hadoopConfiguration()
                            .set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false");
                    spark().createDataFrame(rows, schema).repartition(3).write().options(all).parquet(staging);
                });
    }

    /** What the footers of a published transfer set's part files say about its features column. */
    private record Footers(Set<String> encodings, int rowGroups, Set<String> codecs) {
    }

    private static Footers footers(String transfer) {
        Set<String> encodings = new TreeSet<>();
        Set<String> codecs = new TreeSet<>();
        int groups = 0;
        for (Path f : partFiles(transfer)) {
            try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(
                    new org.apache.hadoop.fs.Path(f.toUri()), new Configuration()))) {
                for (BlockMetaData b : reader.getFooter().getBlocks()) {
                    groups++;
                    b.getColumns().stream().filter(c -> c.getPath().toDotString().startsWith("features."))
                            .forEach(c -> {
                                c.getEncodings().forEach(e -> encodings.add(e.name()));
                                codecs.add(c.getCodec().name());
                            });
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return new Footers(encodings, groups, codecs);
    }

    private static List<Path> partFiles(String transfer) {
        try (var files = Files.list(Path.of(java.net.URI.create(transfer)))) {
            return files.filter(p -> p.getFileName().toString().endsWith(".parquet")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void readsThePagesOfEveryLayoutItTakesAsSparksReaderDoes() throws Exception {
        // version 2 pages, gzip, several row groups per file, every column nullable, dictionary ids of 4 bits
        String v2 = publish("v2", pixels(240, 3, 15), NULLABLE, Map.of("parquet.writer.version", "v2",
                "compression", "gzip", "parquet.block.size", "2048", "parquet.page.size", "4096"));
        Footers f = footers(v2);
        assertThat(f.codecs()).containsExactly("GZIP");
        assertThat(f.rowGroups()).isGreaterThan(3);
        assertThat(f.encodings()).contains("RLE_DICTIONARY");
        // version 1 pages of a few rows, uncompressed, 9-bit dictionary ids in the first pages, then a dictionary
        // too large for its limit and the rest of the chunk in PLAIN pages
        List<Row> mixed = new ArrayList<>(pixels(150, 4, 511));
        java.util.Random r = new java.util.Random(5);
        for (int i = 0; i < 90; i++) {
            float[] x = new float[Fixtures.FEATURES];
            for (int j = 0; j < x.length; j++) {
                x[j] = r.nextFloat();
            }
            mixed.add(RowFactory.create(20_000L + i, x, i % 4 == 0 ? null : i % Fixtures.CLASSES));
        }
        String v1 = publish("v1-mixed", mixed, TransferTables.SCHEMA, Map.of("compression", "none",
                "parquet.page.size", "4096", "parquet.dictionary.page.size", "16384", "parquet.block.size", "2048"));
        f = footers(v1);
        assertThat(f.codecs()).containsExactly("UNCOMPRESSED");
        assertThat(f.encodings()).contains("PLAIN_DICTIONARY", "PLAIN");
        assertThat(f.rowGroups()).isGreaterThan(3);
        sameEveryWay("v2", v2, true, b -> b);
        sameEveryWay("v1-mixed", v1, true, b -> b.topK(3));
    }

    @Test
    void readsWhatPyarrowWrites() throws Exception {
        Path files = dir.resolve("pyarrow-files");
        Path script = Path.of("src/test/python/pyarrow_transfer.py").toAbsolutePath();
        PythonScript.Run run = PythonScript.run(script, dir, 2, List.of(files.toString(), "240",
                String.valueOf(Fixtures.FEATURES), String.valueOf(Fixtures.CLASSES)));
        assertThat(run.code()).as(run.err()).isZero();
        String transfer = Fixtures.publishTransferFiles(spark(), dir.resolve("pyarrow").toString(), 240,
                Fixtures.FEATURES, staging -> {
                    try (var parts = Files.list(files)) {
                        Path into = Files.createDirectories(Path.of(java.net.URI.create(staging)));
                        for (Path p : parts.toList()) {
                            Files.copy(p, into.resolve(p.getFileName()));
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
        Footers f = footers(transfer);
        assertThat(f.rowGroups()).isGreaterThan(2);
        assertThat(f.encodings()).contains("RLE_DICTIONARY");
        sameEveryWay("pyarrow", transfer, true, b -> b);
    }

    @Test
    void leavesTwoLevelListsToSparksReaderAndSaysWhy() throws Exception {
        org.apache.parquet.schema.MessageType schema = org.apache.parquet.schema.MessageTypeParser.parseMessageType(
                "message transfer { required int64 id; required group features (LIST) { repeated float array; }"
                        + " optional int32 label; }");
        List<Row> rows = pixels(60, 9);
        String transfer = Fixtures.publishTransferFiles(spark(), dir.resolve("two-level").toString(), rows.size(),
                Fixtures.FEATURES, staging -> {
                    for (int part = 0; part < 3; part++) {
                        org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(staging,
                                "part-0000" + part + ".parquet");
                        var factory = new org.apache.parquet.example.data.simple.SimpleGroupFactory(schema);
                        try (var w = org.apache.parquet.hadoop.example.ExampleParquetWriter.builder(file)
                                .withType(schema).withConf(new Configuration()).build()) {
                            for (int i = part; i < rows.size(); i += 3) {
                                Row row = rows.get(i);
                                var g = factory.newGroup().append(TransferSchema.ID, row.getLong(0));
                                var list = g.addGroup(TransferSchema.FEATURES);
                                for (float v : (float[]) row.get(1)) {
                                    list.append("array", v);
                                }
                                if (!row.isNullAt(2)) {
                                    g.append(TransferSchema.LABEL, row.getInt(2));
                                }
                                w.write(g);
                            }
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }
                });
        FeatureBatches plan = FeatureBatches.plan(TransferTables.readTransfer(spark(), transfer).rows());
        assertThat(plan.pagesRefusal()).matches(".*/two-level/part-0000[0-2]\\.parquet: features are not a list"
                + " of 3 levels \\(their values are features\\.array\\)");
        sameEveryWay("two-level", transfer, false, b -> b);
        // a session that skips corrupt or missing files reads through Spark's reader, which skips them
        spark().conf().set("spark.sql.files.ignoreCorruptFiles", "true");
        try {
            String dense = Fixtures.transferSet(spark(), dir.resolve("skips").toString(), 30, 11, 0);
            assertThat(FeatureBatches.plan(TransferTables.readTransfer(spark(), dense).rows()).pagesRefusal())
                    .isEqualTo("spark.sql.files.ignoreCorruptFiles is true (Spark's reader skips such files)");
        } finally {
            spark().conf().unset("spark.sql.files.ignoreCorruptFiles");
        }
    }

    @Test
    void refusesNullEmptyAndShortFeaturesWithTheSameLineEveryWay() {
        float[] good = (float[]) pixels(1, 12).get(0).get(1);
        Object[] withNull = new Object[good.length];
        for (int j = 0; j < good.length; j++) {
            withNull[j] = j == 5 ? null : good[j];
        }
        Map<String, Object> bad = new java.util.LinkedHashMap<>();
        bad.put("features are null for id 10007", null);
        bad.put("feature length 0 != " + Fixtures.FEATURES + " for id 10007", new float[0]);
        bad.put("feature length " + (Fixtures.FEATURES - 1) + " != " + Fixtures.FEATURES + " for id 10007",
                java.util.Arrays.copyOf(good, good.length - 1));
        bad.put("non-finite feature value NaN for id 10007", withNull);
        for (Map.Entry<String, Object> e : bad.entrySet()) {
            List<Row> rows = new ArrayList<>();
            for (Row row : pixels(30, 13)) {
                Object x = row.getLong(0) == 10_007L ? e.getValue() : row.get(1);
                rows.add(RowFactory.create(row.getLong(0), x, row.isNullAt(2) ? null : row.getInt(2)));
            }
            String transfer = publish("bad-" + bad.keySet().stream().toList().indexOf(e.getKey()), rows, NULLABLE,
                    Map.of());
            for (Way way : Way.values()) {
                String out = dir.resolve("bad-soft-" + e.getKey().hashCode() + way).toString();
                assertThatThrownBy(() -> label(transfer, out, way, LabelConfig.builder(transfer, out)))
                        .as(way + ": " + e.getKey()).hasStackTraceContaining(e.getKey());
                assertThat(Path.of(out)).doesNotExist();
            }
        }
    }
}
