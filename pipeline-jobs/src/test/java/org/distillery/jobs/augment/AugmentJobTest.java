package org.distillery.jobs.augment;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.LabelledSelection;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Augmented transfer sets: what each transform does, ids and provenance, reruns, labelling, bad input. */
class AugmentJobTest extends SparkTestBase {
    private static final int ROWS = 60;
    @TempDir
    static Path dir;
    /** 4x4 single-channel images (the fixture's 16 features as [1, 4, 4]). */
    static String images;
    static String vectors;
    static String teacher;
    static Map<Long, float[]> sourceFeatures = new HashMap<>();
    static Map<Long, Integer> sourceLabels = new HashMap<>();

    @BeforeAll
    static void fixtures() {
        int[] y = Fixtures.labels(ROWS, 61);
        float[][] x = Fixtures.features(ROWS, y, 62);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) {
            Integer label = i % 7 == 0 ? null : y[i];
            rows.add(RowFactory.create((long) 100 + i, x[i], label));
            sourceFeatures.put(100L + i, x[i]);
            sourceLabels.put(100L + i, label);
        }
        images = Fixtures.publishTransfer(spark(), dir.resolve("images").toString(), rows, Fixtures.FEATURES,
                Fixtures.CLASSES, new int[] {1, 4, 4});
        vectors = Fixtures.transferSet(spark(), dir.resolve("vectors").toString(), ROWS, 63, 0);
        teacher = Fixtures.saveZip(spark(), Fixtures.teacher(6, 10), dir.resolve("teacher.zip").toString());
    }

    private static Map<Long, Row> read(String path) {
        Map<Long, Row> m = new HashMap<>();
        for (Row r : spark().read().parquet(path).select(TransferSchema.ID, TransferSchema.FEATURES,
                TransferSchema.LABEL, AugmentJob.SOURCE_ID).collectAsList()) {
            assertThat(m.put(r.getLong(0), r)).as("id %d twice", r.getLong(0)).isNull();
        }
        return m;
    }

    private static CliRun ok(String... args) {
        CliRun r = CliRun.of(args);
        assertThat(r.code()).as(String.join(" ", args) + "\n" + r.err()).isZero();
        return r;
    }

    /** The 4x4 image {@code x} moved by (dy, dx), 0 where nothing moved in. */
    private static float[] shifted(float[] x, int dy, int dx) {
        float[] y = new float[16];
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) {
                int si = i - dy;
                int sj = j - dx;
                y[i * 4 + j] = si >= 0 && si < 4 && sj >= 0 && sj < 4 ? x[si * 4 + sj] : 0f;
            }
        }
        return y;
    }

    @Test
    void shiftedCopiesKeepTheirSourceAndTheTeacherLabelsThem() {
        String out = dir.resolve("shifted").toString();
        CliRun plan = ok("augment", "--transfer", images, "--transform", "shift=1", "--copies", "3", "--out", out,
                "--dry-run");
        assertThat(plan.out()).contains("shift=1, 3 copies per row").contains(ROWS * 4 + " rows");
        ok("augment", "--transfer", images, "--transform", "shift=1", "--copies", "3", "--out", out);
        Map<Long, Row> rows = read(out);
        assertThat(rows).hasSize(ROWS * 4);
        int moved = 0;
        for (Row r : rows.values()) {
            float[] x = sourceFeatures.get(r.getLong(3));
            float[] a = TransferTables.floats(r, 1);
            if (r.getLong(0) == r.getLong(3)) { // a source row, as it was
                assertThat(a).containsExactly(x);
                assertThat(r.isNullAt(2) ? null : r.getInt(2)).isEqualTo(sourceLabels.get(r.getLong(0)));
                continue;
            }
            assertThat(r.isNullAt(2)).as("copies are unlabelled").isTrue();
            boolean found = false;
            for (int dy = -1; dy <= 1 && !found; dy++) {
                for (int dx = -1; dx <= 1 && !found; dx++) {
                    found = java.util.Arrays.equals(a, shifted(x, dy, dx));
                    moved += found && (dy != 0 || dx != 0) ? 1 : 0;
                }
            }
            assertThat(found).as("copy %d is its source shifted by at most one pixel", r.getLong(0)).isTrue();
        }
        assertThat(moved).isGreaterThan(ROWS); // most of the 180 copies moved
        Manifest m = Storage.of(spark()).publishedManifest(out);
        assertThat(m.job()).isEqualTo("augment");
        assertThat(TransferSchema.shape(m)).containsExactly(1, 4, 4);
        assertThat(m.inputs().get("transfer").manifestId()).isEqualTo(Storage.of(spark()).publishedManifest(images)
                .id());

        CliRun label = ok("label", "--transfer", out, "--teacher", teacher, "--out", dir.resolve("soft").toString());
        assertThat(label.lastLine()).contains("\"rows\":" + ROWS * 4);
    }

    @Test
    void everyTransformTogetherIsTheSameOnARerunAndIdsAreStable() {
        String first = dir.resolve("all-1").toString();
        String second = dir.resolve("all-2").toString();
        String[] args = {"--transfer", images, "--transform", "shift=1,flip,noise=0.05,mixup=0.4", "--copies", "2"};
        ok(concat("augment", args, "--out", first));
        ok(concat("augment", args, "--out", second));
        Map<Long, Row> a = read(first);
        Map<Long, Row> b = read(second);
        assertThat(a.keySet()).isEqualTo(b.keySet()).hasSize(ROWS * 3);
        a.forEach((id, r) -> assertThat(TransferTables.floats(b.get(id), 1)).containsExactly(
                TransferTables.floats(r, 1)));
        // a copy's id is xxhash64(seed, source id, copy), as Spark SQL computes it
        long expected = spark().sql("SELECT xxhash64(CAST(42 AS BIGINT), CAST(100 AS BIGINT), 1)").first().getLong(0);
        assertThat(a.get(expected)).isNotNull();
        assertThat(a.get(expected).getLong(3)).isEqualTo(100L);
        for (Row r : a.values()) {
            for (float v : TransferTables.floats(r, 1)) {
                assertThat(Float.isFinite(v)).isTrue();
            }
        }
    }

    @Test
    void labelledWidensOnlyTheRowsTrainKeepsLabelled() {
        String out = dir.resolve("labelled").toString();
        ok("augment", "--transfer", images, "--labelled", "10", "--seed", "5", "--transform", "shift=1", "--copies",
                "2", "--out", out);
        Map<Long, Row> rows = read(out);
        java.util.Set<Long> selected = LabelledSelection.select(spark(), spark().read().parquet(images), 10, 5,
                Fixtures.CLASSES);
        assertThat(selected).hasSize(10);
        assertThat(rows).hasSize(30);
        assertThat(rows.values().stream().map(r -> r.getLong(3)).collect(java.util.stream.Collectors.toSet()))
                .isEqualTo(selected);
        for (Row r : rows.values()) {
            if (r.getLong(0) == r.getLong(3)) { // the selected rows keep their labels
                assertThat(r.getInt(2)).isEqualTo(sourceLabels.get(r.getLong(0)));
            }
        }
        // another seed selects other rows
        assertThat(LabelledSelection.select(spark(), spark().read().parquet(images), 10, 6, Fixtures.CLASSES))
                .isNotEqualTo(selected);
        Manifest m = Storage.of(spark()).publishedManifest(out);
        assertThat(m.facts().get("augmentation").toString()).contains("sourceRows=10")
                .contains("as train --labelled selects them");
    }

    @Test
    void copiesOnlyAndMixupOnVectors() {
        String out = dir.resolve("mixup").toString();
        ok("augment", "--transfer", vectors, "--transform", "mixup=0.2", "--copies", "1", "--no-originals", "--out",
                out);
        Map<Long, Row> rows = read(out);
        assertThat(rows).hasSize(ROWS);
        assertThat(rows.values()).allMatch(r -> r.getLong(0) != r.getLong(3) && r.isNullAt(2));
    }

    @Test
    void badInputIsOneLineAndPublishesNothing() {
        String out = dir.resolve("refused").toString();
        Map<String, String[]> cases = new java.util.LinkedHashMap<>();
        cases.put("unknown --transform 'rotate=10'", new String[] {"--transfer", images, "--transform", "rotate=10"});
        cases.put("--transform shift=1 moves pixels, but the transfer set's examples are [16]",
                new String[] {"--transfer", vectors, "--transform", "shift=1"});
        cases.put("--copies must be >= 1, got 0", new String[] {"--transfer", images, "--transform", "flip",
            "--copies", "0"});
        cases.put("would write 300 rows, more than --max-rows 100", new String[] {"--transfer", images, "--transform",
            "noise=0.1", "--max-rows", "100"});
        cases.put("noise needs a positive finite value", new String[] {"--transfer", images, "--transform",
            "noise=-1"});
        // mixup on a set whose rows are not all of the declared width: every third row is 4 values short
        List<Row> ragged = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) {
            float[] x = sourceFeatures.get(100L + i);
            ragged.add(RowFactory.create(100L + i, i % 3 == 1 ? java.util.Arrays.copyOf(x, 12) : x, 0));
        }
        String raggedSet = Fixtures.publishTransfer(spark(), dir.resolve("ragged").toString(), ragged,
                Fixtures.FEATURES);
        cases.put("have 12 values, the transfer set's are 16 wide: augment needs features of one width",
                new String[] {"--transfer", raggedSet, "--transform", "mixup=0.2"});
        cases.put("--labelled must be >= 1, got 0", new String[] {"--transfer", images, "--transform", "flip",
            "--labelled", "0"});
        cases.forEach((message, args) -> {
            CliRun r = CliRun.of(concat("augment", args, "--out", out));
            assertThat(r.code()).as(message).isEqualTo(2);
            assertThat(r.err().strip()).contains(message).doesNotContain("\n").doesNotContain("\tat ");
        });
        assertThat(Storage.of(spark()).exists(out)).isFalse();
    }

    private static String[] concat(String head, String[] middle, String... tail) {
        List<String> all = new ArrayList<>(List.of(head));
        all.addAll(List.of(middle));
        all.addAll(List.of(tail));
        return all.toArray(String[]::new);
    }
}
