package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link SlicedScan#plan}: the label job's partitions cover every row of the files once, equal in rows, a multiple of
 * the slots, cutting at file boundaries where a count allows it.
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
}
