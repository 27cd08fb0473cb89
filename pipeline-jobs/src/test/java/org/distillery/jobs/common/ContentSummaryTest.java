package org.distillery.jobs.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.distillery.jobs.SparkTestBase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The content summary of written rows (manifests' {@code contentHash}): the sum of every row's xxhash64 modulo 2^64,
 * from three sums of 22-bit slices, equals the exact sum of the hashes folded to 64 bits; the write that observes it
 * gives what reading the files back gives, and stores the teacher's floats without dictionary encoding.
 */
class ContentSummaryTest extends SparkTestBase {
    @TempDir
    static java.nio.file.Path dir;

    private static Dataset<Row> softTargets(int n) {
        java.util.Random r = new java.util.Random(17);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[] z = new float[10];
            for (int j = 0; j < z.length; j++) {
                z[j] = (float) r.nextGaussian();
            }
            rows.add(RowFactory.create((long) i, i % 3 == 0 ? null : i % 10, z, r.nextLong()));
        }
        return spark().createDataFrame(rows, new org.apache.spark.sql.types.StructType()
                .add("id", DataTypes.LongType, false).add("label", DataTypes.IntegerType, true)
                .add("logits", DataTypes.createArrayType(DataTypes.FloatType, false), false)
                .add("input_hash", DataTypes.LongType, false));
    }

    @Test
    void slicedSumsGiveTheExactSumOfTheHashesModulo2To64() {
        Dataset<Row> rows = softTargets(500);
        BigInteger exact = BigInteger.ZERO;
        for (Row r : rows.select(functions.xxhash64(java.util.Arrays.stream(rows.columns()).map(functions::col)
                .toArray(org.apache.spark.sql.Column[]::new))).collectAsList()) {
            exact = exact.add(BigInteger.valueOf(r.getLong(0)));
        }
        String expected = "xxhash64-sum:500:" + String.format("%016x", exact.longValue());
        assertThat(TransferTables.contentHash(TransferTables.contentSummary(rows))).isEqualTo(expected);
        assertThat(TransferTables.contentHash(TransferTables.contentSummary(rows.limit(0))))
                .isEqualTo("xxhash64-sum:0:0000000000000000");
    }

    @Test
    void theObservedWriteGivesTheReadBackSummaryAndStoresFloatsIdsAndHashesPlain() throws Exception {
        Dataset<Row> rows = softTargets(3000).repartition(2);
        String out = dir.resolve("soft").toUri().toString();
        Row observed = TransferTables.writeObserved(rows, out);
        assertThat(TransferTables.contentHash(observed))
                .isEqualTo(TransferTables.contentHash(TransferTables.contentSummary(TransferTables.readStaged(spark(),
                        out))));
        assertThat(TransferTables.plainColumns(rows.schema())).containsExactly(
                java.util.Map.entry("parquet.enable.dictionary#id", "false"),
                java.util.Map.entry("parquet.enable.dictionary#input_hash", "false"),
                java.util.Map.entry("parquet.enable.dictionary#logits.list.element", "false"));
        java.util.Set<String> logits = new java.util.TreeSet<>();
        java.util.Set<String> labels = new java.util.TreeSet<>();
        java.util.Set<String> unique = new java.util.TreeSet<>(); // ids and hashes
        try (var files = java.nio.file.Files.list(dir.resolve("soft"))) {
            for (java.nio.file.Path f : files.filter(p -> p.toString().endsWith(".parquet")).toList()) {
                try (var reader = org.apache.parquet.hadoop.ParquetFileReader.open(
                        org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(
                                new org.apache.hadoop.fs.Path(f.toUri()), new org.apache.hadoop.conf.Configuration()))) {
                    reader.getFooter().getBlocks().forEach(b -> b.getColumns().forEach(c ->
                            (c.getPath().toDotString().startsWith("logits.") ? logits
                                    : c.getPath().toDotString().equals("label") ? labels : unique)
                                    .addAll(c.getEncodings().stream().map(Enum::name).toList())));
                }
            }
        }
        assertThat(logits).contains("PLAIN").doesNotContain("PLAIN_DICTIONARY", "RLE_DICTIONARY");
        assertThat(unique).contains("PLAIN").doesNotContain("PLAIN_DICTIONARY", "RLE_DICTIONARY");
        assertThat(labels).contains("PLAIN_DICTIONARY"); // the labels (few values) keep their dictionary
    }
}
