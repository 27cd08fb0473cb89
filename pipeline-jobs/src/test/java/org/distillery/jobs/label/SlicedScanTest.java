package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.apache.spark.paths.SparkPath;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.execution.datasources.PartitionedFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SlicedScan#plan}: the label job's partitions cover every row of the files once, equal in rows, a multiple of
 * the slots, cutting at file boundaries where a count allows it; {@link SlicedScan#footers}: read at once, in order.
 */
class SlicedScanTest {
    /** Rows of each partition, checking that the pieces tile rows 0 .. total of the files exactly once, in order. */
    private static long[] tiled(SlicedScan.Plan plan, long[] rows) {
        long[] sizes = new long[plan.partitions().size()];
        int file = 0;
        long next = 0; // the next row of `file` the plan must cover
        for (int p = 0; p < sizes.length; p++) {
            for (SlicedScan.Piece piece : plan.partitions().get(p)) {
                while (next == rows[file]) {
                    file++;
                    next = 0;
                }
                assertThat(piece.parent()).as("piece %s of partition %d", piece, p).isEqualTo(file);
                assertThat(piece.from()).as("piece %s of partition %d", piece, p).isEqualTo(next);
                assertThat(piece.to()).isGreaterThan(piece.from()).isLessThanOrEqualTo(rows[file]);
                next = piece.to();
                sizes[p] += piece.to() - piece.from();
            }
        }
        while (file < rows.length && next == rows[file]) {
            file++;
            next = 0;
        }
        assertThat(file).as("every file covered to its end").isEqualTo(rows.length);
        return sizes;
    }

    private static long[] filesOf(long n, long rows) {
        long[] files = new long[(int) n];
        java.util.Arrays.fill(files, rows);
        return files;
    }

    @Test
    void equalFilesGoWholeIntoEqualPartitions() {
        long[] rows = filesOf(20, 50_000); // the 1M benchmark set
        SlicedScan.Plan plan = SlicedScan.plan(rows, 2);
        assertThat(tiled(plan, rows)).hasSize(10).containsOnly(100_000);
        assertThat(plan.skipped()).isZero();
        assertThat(plan.partitions()).allSatisfy(p -> assertThat(p).hasSize(2)
                .allSatisfy(piece -> assertThat(piece.to() - piece.from()).isEqualTo(50_000)));

        long[] big = filesOf(200, 50_000); // 10M rows: partitions of at most MAX_ROWS
        SlicedScan.Plan ten = SlicedScan.plan(big, 2);
        assertThat(tiled(ten, big)).hasSize(40).containsOnly(250_000);
        assertThat(ten.skipped()).isZero();

        long[] two = filesOf(2, 16_384); // the CNN benchmark set: one file per slot
        assertThat(tiled(SlicedScan.plan(two, 2), two)).containsExactly(16_384, 16_384);
    }

    @Test
    void fewerFilesThanSlotsAreCutInsideAFile() {
        long[] rows = {43_691, 43_691, 43_690}; // the heavy benchmark set: three one-row-group files on two slots
        SlicedScan.Plan plan = SlicedScan.plan(rows, 2);
        assertThat(tiled(plan, rows)).containsExactly(65_536, 65_536);
        assertThat(plan.skipped()).isEqualTo(65_536 - 43_691); // the second partition starts inside the second file
        assertThat(plan.describe(3, 2)).isEqualTo("2 partitions of ~65536 rows over 3 files (2 task slots; 21845 rows"
                + " decoded and skipped at cuts inside files)");

        long[] one = {1_000};
        SlicedScan.Plan halves = SlicedScan.plan(one, 2);
        assertThat(tiled(halves, one)).containsExactly(500, 500);
        assertThat(halves.skipped()).isEqualTo(500);
        assertThat(halves.skipped()).isLessThanOrEqualTo((long) (SlicedScan.MAX_SKIPPED * halves.rows()));
        // four slots over one file would decode 1.5x its rows only to skip them: over the limit, Spark's plan instead
        SlicedScan.Plan quarters = SlicedScan.plan(one, 4);
        assertThat(quarters.skipped()).isEqualTo(250 + 500 + 750);
        assertThat(quarters.skipped()).isGreaterThan((long) (SlicedScan.MAX_SKIPPED * quarters.rows()));
    }

    @Test
    void aCutNearAFileBoundaryMovesToIt() {
        long[] rows = {100_001, 99_999}; // the ideal cut is one row into the second file
        SlicedScan.Plan plan = SlicedScan.plan(rows, 2);
        assertThat(tiled(plan, rows)).containsExactly(100_001, 99_999);
        assertThat(plan.skipped()).isZero();
    }

    @Test
    void emptyFilesAndTinySetsAreCoveredExactlyOnce() {
        long[] rows = {0, 5, 0, 0, 2, 0};
        SlicedScan.Plan plan = SlicedScan.plan(rows, 2);
        long[] sizes = tiled(plan, rows);
        assertThat(sizes).hasSize(2);
        assertThat(sizes[0] + sizes[1]).isEqualTo(7);
        assertThat(Math.abs(sizes[0] - sizes[1])).isLessThanOrEqualTo(1);

        long[] three = {3};
        assertThat(tiled(SlicedScan.plan(three, 8), three)).containsOnly(1).hasSize(3); // no empty partitions
        assertThat(SlicedScan.plan(new long[] {0, 0}, 2)).isNull();
        assertThat(SlicedScan.plan(new long[0], 2)).isNull();
    }

    @Test
    void anyFileSizesGiveEqualPartitionsInMultiplesOfTheSlots() {
        SplittableRandom random = new SplittableRandom(7);
        for (int trial = 0; trial < 300; trial++) {
            int slots = 1 + random.nextInt(8);
            long[] rows = new long[1 + random.nextInt(40)];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = random.nextInt(4) == 0 ? 0 : random.nextLong(1, 120_000);
            }
            long total = java.util.Arrays.stream(rows).sum();
            SlicedScan.Plan plan = SlicedScan.plan(rows, slots);
            if (total == 0) {
                assertThat(plan).isNull();
                continue;
            }
            long[] sizes = tiled(plan, rows);
            assertThat(java.util.Arrays.stream(sizes).sum()).isEqualTo(total);
            long ideal = total / sizes.length;
            // equal but for cuts moved to a file boundary (at most 1% of a partition's rows each side)
            for (long s : sizes) {
                assertThat(Math.abs(s - ideal)).as("trial %d: %s", trial, List.of(java.util.Arrays.toString(rows),
                        java.util.Arrays.toString(sizes))).isLessThanOrEqualTo(ideal / 50 + 2);
            }
            if (sizes.length < total) { // not capped at one row per partition
                assertThat(sizes.length % slots).as("trial %d", trial).isZero();
            }
        }
    }

    /** A Parquet file of {@code rows} rows of one long column, in row groups of at most {@code perGroup} rows. */
    private static PartitionedFile parquet(Path file, int rows, int perGroup) throws Exception {
        MessageType schema = MessageTypeParser.parseMessageType("message t { required int64 id; }");
        SimpleGroupFactory groups = new SimpleGroupFactory(schema);
        try (var w = ExampleParquetWriter.builder(new org.apache.hadoop.fs.Path(file.toUri()))
                .withType(schema).withConf(new Configuration()).withRowGroupSize(perGroup * 8L)
                .withPageRowCountLimit(perGroup).withMinRowCountForPageSizeCheck(1).build()) {
            for (long id = 0; id < rows; id++) {
                w.write(groups.newGroup().append("id", id));
            }
        }
        return whole(file);
    }

    private static PartitionedFile whole(Path file) throws Exception {
        long size = Files.size(file);
        return new PartitionedFile(InternalRow.empty(), SparkPath.fromUrlString(file.toUri().toString()), 0, size,
                new String[0], 0L, size, scala.collection.immutable.Map$.MODULE$.empty());
    }

    @Test
    void footersReadAtOnceComeBackInOrderAsReadOneByOne(@TempDir Path dir) throws Exception {
        PartitionedFile[] files = new PartitionedFile[23];
        for (int i = 0; i < files.length; i++) {
            files[i] = parquet(dir.resolve("part-" + i + ".parquet"), 100 + 37 * i, 64);
        }
        String[] why = {null};
        ParquetMetadata[] one = SlicedScan.footers(files, new Configuration(), 1, why);
        ParquetMetadata[] many = SlicedScan.footers(files, new Configuration(), SlicedScan.FOOTER_THREADS, why);
        assertThat(why[0]).isNull();
        for (int i = 0; i < files.length; i++) {
            long rows = 100 + 37 * i;
            assertThat(many[i].getBlocks().stream().mapToLong(b -> b.getRowCount()).sum()).as("file %d", i)
                    .isEqualTo(rows);
            assertThat(many[i].getBlocks()).as("file %d", i).hasSize(one[i].getBlocks().size());
            assertThat(ParquetMetadata.toJSON(many[i])).isEqualTo(ParquetMetadata.toJSON(one[i]));
        }
        assertThat(many[files.length - 1].getBlocks()).as("row groups of at most 64 rows").hasSizeGreaterThan(1);
    }

    @Test
    void anUnreadableFooterNamesTheFirstSuchFileInOrder(@TempDir Path dir) throws Exception {
        PartitionedFile[] files = new PartitionedFile[12];
        for (int i = 0; i < files.length; i++) {
            Path f = dir.resolve("part-" + i + ".parquet");
            files[i] = parquet(f, 50, 64);
            if (i == 5 || i == 9) { // not Parquet any more
                Files.write(f, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
                Files.deleteIfExists(dir.resolve(".part-" + i + ".parquet.crc"));
                files[i] = whole(f);
            }
        }
        String[] why = {null};
        assertThat(SlicedScan.footers(files, new Configuration(), SlicedScan.FOOTER_THREADS, why)).isNull();
        assertThat(why[0]).startsWith("cannot read the footer of ").contains("part-5.parquet")
                .doesNotContain("part-9.parquet").contains("is not a Parquet file");
    }
}
