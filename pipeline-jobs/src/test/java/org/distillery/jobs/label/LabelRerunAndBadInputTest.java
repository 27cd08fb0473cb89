package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reruns (pinning, overwrite, determinism) and every kind of bad input the label job must refuse. */
class LabelRerunAndBadInputTest extends SparkTestBase {
    @TempDir
    static Path dir;
    static String transfer;
    static String teacherZip;

    @BeforeAll
    static void fixtures() {
        transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 200, 31, 0);
        teacherZip = Fixtures.saveZip(spark(), Fixtures.teacher(4, 10), dir.resolve("teacher.zip").toString());
    }

    private static LabelConfig config(String in, String teacher, String out, String sha, PublishMode mode) {
        return LabelConfig.builder(in, dir.resolve(out).toString()).teacher(teacher).temperature(2.0).batchSize(32)
                .teacherSha256(sha).mode(mode).build();
    }

    private static JobResult label(LabelConfig c) {
        return new LabelJob(spark()).run(c);
    }

    @Test
    void sameCommandTwiceGivesIdenticalRowsInIdenticalOrder() {
        JobResult a = label(config(transfer, teacherZip, "det-a", null, null));
        JobResult b = label(config(transfer, teacherZip, "det-b", null, null));
        Storage s = Storage.of(spark());
        assertThat(s.publishedManifest(a.path()).text("contentHash"))
                .isEqualTo(s.publishedManifest(b.path()).text("contentHash"))
                .startsWith("xxhash64-sum:200:");
        // part file by part file (Spark's reader orders files of equal size as the file system lists them)
        assertThat(rowsByPart(b.path())).isEqualTo(rowsByPart(a.path())).hasSize(200);
    }

    /** The rows of each part file of {@code path}, in part-number order. */
    private static List<String> rowsByPart(String path) {
        try (var files = Files.list(Path.of(java.net.URI.create(path)))) {
            List<String> rows = new java.util.ArrayList<>();
            for (Path part : files.filter(f -> f.getFileName().toString().startsWith("part-")).sorted().toList()) {
                spark().read().parquet(part.toString()).collectAsList().forEach(r -> rows.add(part.getFileName()
                        .toString().substring(0, 10) + " " + r));
            }
            return rows;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void pinnedTeacherMustMatch() throws Exception {
        String sha = Models.sha256(Files.readAllBytes(Path.of(teacherZip)));
        assertThat(label(config(transfer, teacherZip, "pinned", sha, null)).rows()).isEqualTo(200);
        String wrong = "0".repeat(64);
        assertThatThrownBy(() -> label(config(transfer, teacherZip, "pinned-wrong", wrong, null)))
                .hasMessage("teacher SHA-256 mismatch: --teacher-sha256 " + wrong + " but file:" + teacherZip
                        + " has " + sha);
        assertThat(Files.exists(dir.resolve("pinned-wrong"))).isFalse();
        assertThatThrownBy(() -> config(transfer, teacherZip, "x", "abc", null))
                .hasMessage("teacher SHA-256 must be 64 lower-case hex digits, got 'abc'");
    }

    @Test
    void overwriteReplacesOnlyOnceTheNewOutputIsComplete() throws Exception {
        JobResult first = label(config(transfer, teacherZip, "replace", null, null));
        // an overwrite that fails while writing (every task fails) leaves the published output as it was
        TeacherInference.faultInjector = task -> true;
        try {
            assertThatThrownBy(() -> label(config(transfer, teacherZip, "replace", null, PublishMode.OVERWRITE)))
                    .hasStackTraceContaining("injected fault");
        } finally {
            TeacherInference.faultInjector = null;
        }
        assertThat(Storage.of(spark()).publishedManifest(first.path()).id()).isEqualTo(first.manifestId());
        assertThat(spark().read().parquet(first.path()).count()).isEqualTo(200);
        try (var siblings = Files.list(dir)) {
            assertThat(siblings.map(p -> p.getFileName().toString()))
                    .noneMatch(n -> n.startsWith(".replace.staging") || n.startsWith(".replace.previous"));
        }

        MultiLayerNetwork other = Fixtures.teacher(8, 10);
        String otherZip = Fixtures.saveZip(spark(), other, dir.resolve("other2.zip").toString());
        JobResult second = label(config(transfer, otherZip, "replace", null, PublishMode.OVERWRITE));
        Manifest now = Storage.of(spark()).publishedManifest(first.path());
        assertThat(now.id()).isEqualTo(second.manifestId()).isNotEqualTo(first.manifestId());
        assertThat(spark().read().parquet(first.path()).count()).isEqualTo(200);
        assertThat(PublishMode.parse("overwrite")).isEqualTo(PublishMode.OVERWRITE);
        assertThat(PublishMode.parse("incremental")).isEqualTo(PublishMode.INCREMENTAL);
        assertThatThrownBy(() -> PublishMode.parse("append"))
                .hasMessage("mode must be one of [fail-if-exists, overwrite, incremental], got 'append'");
    }

    @Test
    void refusesAHardLabelOutsideTheTeachersClasses() {
        float[][] x = Fixtures.features(3, new int[] {0, 1, 2}, 5);
        String path = Fixtures.publishTransfer(spark(), dir.resolve("bad-label").toString(), java.util.List.of(
                org.apache.spark.sql.RowFactory.create(0L, x[0], 0), org.apache.spark.sql.RowFactory.create(1L, x[1], 7),
                org.apache.spark.sql.RowFactory.create(2L, x[2], 2)), Fixtures.FEATURES);
        assertThatThrownBy(() -> label(config(path, teacherZip, "o-bad-label", null, null)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("label 7 out of range [0, 4) of the teacher's classes for id 1");
        assertThat(Files.exists(dir.resolve("o-bad-label"))).isFalse();
    }

    @Test
    void refusesAMissingOrMistypedColumn() {
        StructType noLabel = new StructType().add("id", DataTypes.LongType).add("features",
                DataTypes.createArrayType(DataTypes.FloatType));
        String path = publishRaw("no-label", spark().createDataFrame(
                List.of(RowFactory.create(1L, new float[Fixtures.FEATURES])), noLabel));
        assertThatThrownBy(() -> label(config(path, teacherZip, "o1", null, null)))
                .hasMessageStartingWith("column 'label' missing in " + path);

        StructType doubles = new StructType().add("id", DataTypes.LongType)
                .add("features", DataTypes.createArrayType(DataTypes.DoubleType)).add("label", DataTypes.IntegerType);
        String path2 = publishRaw("doubles", spark().createDataFrame(
                List.of(RowFactory.create(1L, new double[Fixtures.FEATURES], 1)), doubles));
        assertThatThrownBy(() -> label(config(path2, teacherZip, "o2", null, null)))
                .hasMessage("column 'features' in " + path2 + " has type array<double>, expected array<float>");
    }

    @Test
    void refusesARowOfTheWrongFeatureLength() {
        String path = Fixtures.publishTransfer(spark(), dir.resolve("short").toString(),
                List.of(RowFactory.create(1L, new float[Fixtures.FEATURES], 0),
                        RowFactory.create(2L, new float[Fixtures.FEATURES - 1], 0)), Fixtures.FEATURES);
        assertThatThrownBy(() -> label(config(path, teacherZip, "o3", null, null)))
                .satisfies(e -> assertThat(LabelJobTest.rootMessage(e)).isEqualTo("feature length 15 != 16 for id 2"));
        assertThat(Files.exists(dir.resolve("o3"))).isFalse();
    }

    @Test
    void refusesNonFiniteTeacherOutput() {
        MultiLayerNetwork broken = Fixtures.teacher(4, 1);
        broken.getOutputLayer().getParam("b").putScalar(0, Float.NaN);
        String zip = Fixtures.saveZip(spark(), broken, dir.resolve("nan-teacher.zip").toString());
        assertThatThrownBy(() -> label(config(transfer, zip, "o4", null, null)))
                .satisfies(e -> assertThat(LabelJobTest.rootMessage(e)).startsWith("teacher produced a non-finite logit (NaN) for id"));
        assertThat(Files.exists(dir.resolve("o4"))).isFalse();
    }

    @Test
    void refusesAnEmptyInput() {
        String path = Fixtures.publishTransfer(spark(), dir.resolve("empty").toString(), List.of(), Fixtures.FEATURES);
        assertThatThrownBy(() -> label(config(path, teacherZip, "o5", null, null)))
                .hasMessage("transfer set is empty (0 rows): " + path);
    }

    @Test
    void refusesCorruptParquet() throws Exception {
        // with the local filesystem's checksum file, Hadoop notices first; without it, Parquet does
        for (boolean keepChecksum : new boolean[] {true, false}) {
            String path = Fixtures.transferSet(spark(), dir.resolve("corrupt-parquet-" + keepChecksum).toString(), 20, 3, 0);
            Path part;
            try (var files = Files.list(Path.of(path.replace("file:", "")))) {
                part = files.filter(p -> p.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
            }
            byte[] bytes = Files.readAllBytes(part); // damaged in place, its size kept: only its content tells
            System.arraycopy("XXXX".getBytes(), 0, bytes, bytes.length - 4, 4); // Parquet's closing magic
            Files.write(part, bytes);
            if (!keepChecksum) {
                Files.delete(part.resolveSibling("." + part.getFileName() + ".crc"));
            }
            String out = "o6-" + keepChecksum;
            assertThatThrownBy(() -> label(config(path, teacherZip, out, null, null)))
                    .isInstanceOf(IllegalArgumentException.class)
                    // the footer check reads every part file and names the one it could not read
                    .hasMessageStartingWith("corrupt Parquet input " + part.toUri().toString().replace("file:///", "file:/"))
                    .hasMessageContaining(keepChecksum ? "Checksum error" : "is not a Parquet file");
            assertThat(Files.exists(dir.resolve(out))).isFalse();
        }
    }

    private static String publishRaw(String name, org.apache.spark.sql.Dataset<Row> rows) {
        Storage storage = Storage.of(spark());
        try (StagedOutput out = StagedOutput.begin(storage, dir.resolve(name).toString())) {
            rows.write().parquet(out.stagingDir());
            out.publish(Manifest.sealed("ingest", java.util.Map.of(), java.util.Map.of(),
                    Manifest.facts("rows", rows.count(), "featureCount", Fixtures.FEATURES, "classes", Fixtures.CLASSES),
                    java.util.Map.of(), null), 0, System.nanoTime());
            return out.target();
        }
    }
}
