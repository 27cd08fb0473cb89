package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

/** Teacher outputs made outside the pipeline, imported as soft targets: each format, reruns, and every bad import. */
class ImportJobTest extends SparkTestBase {
    private static final int ROWS = 120;
    @TempDir
    static Path dir;
    static String transfer;
    /** The "remote" teacher's probabilities per transfer row, in id order (ids 0 .. ROWS - 1). */
    static float[][] probabilities;

    @BeforeAll
    static void fixtures() {
        transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), ROWS, 51, 0);
        int[] y = Fixtures.labels(ROWS, 51);
        float[][] x = Fixtures.features(ROWS, y, 52);
        float[][] z = new LogitModel(Fixtures.teacher(6, 15)).logits(Nd4j.create(x)).toFloatMatrix();
        probabilities = new float[ROWS][];
        for (int i = 0; i < ROWS; i++) {
            probabilities[i] = SoftTargets.soften(z[i], 1.0);
        }
    }

    private static final StructType PROBABILITIES = new StructType().add("id", DataTypes.LongType)
            .add("probabilities", DataTypes.createArrayType(DataTypes.FloatType));

    /** Writes an import table of one row per id in {@code ids}, its values made by {@code row}. */
    private static String table(String name, StructType schema, List<Long> ids, Function<Long, Row> row) {
        List<Row> rows = new ArrayList<>();
        ids.forEach(id -> rows.add(row.apply(id)));
        String path = dir.resolve("imports/" + name).toString();
        spark().createDataFrame(rows, schema).coalesce(2).write().parquet(path);
        return path;
    }

    private static List<Long> allIds() {
        List<Long> ids = new ArrayList<>();
        for (long i = 0; i < ROWS; i++) {
            ids.add(i);
        }
        return ids;
    }

    private static ImportConfig config(String source, String format, String out, PublishMode mode) {
        return new ImportConfig(transfer, source, "parquet", Map.of(), format, "id", null, null,
                ImportConfig.DEFAULT_TOLERANCE, "remote-cnn", dir.resolve(out).toString(), 2.0, mode);
    }

    private static Map<Long, float[]> logits(String path) {
        Map<Long, float[]> m = new java.util.HashMap<>();
        for (Row r : spark().read().parquet(path).select("id", "logits").collectAsList()) {
            m.put(r.getLong(0), TransferTables.floats(r, 1));
        }
        return m;
    }

    @Test
    void probabilitiesBecomeSoftTargetsThatTrainTakes() {
        String source = table("probs", PROBABILITIES, allIds(),
                id -> RowFactory.create(id, probabilities[(int) (long) id]));
        CliRun plan = CliRun.of("label", "--transfer", transfer, "--import", source, "--import-format",
                "probabilities", "--teacher-name", "remote-cnn", "--out", dir.resolve("soft-cli").toString(),
                "--dry-run");
        assertThat(plan.code()).as(plan.err()).isZero();
        assertThat(plan.out()).contains("imported probabilities (parquet)").contains("remote-cnn");
        CliRun both = CliRun.of("label", "--transfer", transfer, "--import", source, "--import-format",
                "probabilities", "--teacher", "t.zip", "--out", dir.resolve("soft-cli").toString());
        assertThat(both.code()).isEqualTo(2);
        assertThat(both.err()).contains("--import replaces --teacher");
        JobResult r = new ImportJob(spark()).run(config(source, "probabilities", "soft-probs", null));
        assertThat(r.rows()).isEqualTo(ROWS);
        Manifest m = Storage.of(spark()).publishedManifest(r.path());
        assertThat(m.job()).isEqualTo("label");
        assertThat(m.text("teacherName")).isEqualTo("remote-cnn");
        assertThat(m.text("teacherSha256")).hasSize(64);
        assertThat(m.inputs().get("transfer").manifestId()).isEqualTo(Storage.of(spark()).publishedManifest(transfer)
                .id());
        logits(r.path()).forEach((id, z) -> assertThat(SoftTargets.soften(z, 1.0))
                .containsExactly(probabilities[(int) (long) id], within(1e-6f)));

        CliRun train = CliRun.of("train", "--soft-targets", r.path(), "--out", dir.resolve("student").toString(),
                "--arch", "mlp:8", "--epochs", "1", "--batch-size", "16");
        assertThat(train.code()).as(train.err()).isZero();

        // the teacher of imported outputs does not run here: no agreement or KL, and no stand-in teacher by default
        String eval = dir.resolve("eval").toString();
        CliRun evaluate = CliRun.of("evaluate", "--test", transfer, "--model", "student=" + dir.resolve("student"),
                "--out", eval, "--latency-runs", "2");
        assertThat(evaluate.code()).as(evaluate.err()).isZero();
        assertThat(evaluate.out()).containsPattern("student +[0-9.]+ +- +- ");
        String teacher = Fixtures.saveZip(spark(), Fixtures.teacher(6, 15), dir.resolve("local-teacher.zip")
                .toString());
        CliRun other = CliRun.of("evaluate", "--test", transfer, "--teacher", teacher, "--model", "student="
                + dir.resolve("student"), "--out", dir.resolve("eval-other").toString());
        assertThat(other.code()).isEqualTo(2);
        assertThat(other.err()).contains("is not the teacher student was distilled from (imported outputs")
                .contains("--allow-other-teacher");
    }

    @Test
    void csvColumnsTopKAndLabelsEachImport() throws Exception {
        // a CSV with one probability column per class, as a spreadsheet or an API dump would have it
        StringBuilder csv = new StringBuilder("row_id,p0,p1,p2,p3\n");
        for (int i = 0; i < ROWS; i++) {
            csv.append(i);
            for (float p : probabilities[i]) {
                csv.append(',').append(p);
            }
            csv.append('\n');
        }
        Path file = Files.writeString(dir.resolve("imports-probs.csv"), csv);
        JobResult fromCsv = new ImportJob(spark()).run(new ImportConfig(transfer, file.toString(), "csv",
                Map.of("header", "true", "inferSchema", "true"), "probabilities", "row_id",
                List.of("p0", "p1", "p2", "p3"), null, 1e-3, null, dir.resolve("soft-csv").toString(), 1.0, null));
        assertThat(fromCsv.rows()).isEqualTo(ROWS);
        assertThat(Storage.of(spark()).publishedManifest(fromCsv.path()).text("teacherName"))
                .isEqualTo("imports-probs.csv");

        // the top 2 classes: their probabilities kept, the rest of the mass spread over the other two
        StructType topk = new StructType().add("id", DataTypes.LongType)
                .add("probabilities", DataTypes.createArrayType(DataTypes.FloatType))
                .add("topk_index", DataTypes.createArrayType(DataTypes.IntegerType));
        String top2 = table("top2", topk, allIds(), id -> {
            float[] p = probabilities[(int) (long) id];
            int a = SoftTargets.argmax(p);
            int b = -1;
            for (int c = 0; c < p.length; c++) {
                b = c != a && (b < 0 || p[c] > p[b]) ? c : b;
            }
            return RowFactory.create(id, new float[] {p[a], p[b]}, new int[] {a, b});
        });
        JobResult k = new ImportJob(spark()).run(config(top2, "topk", "soft-top2", null));
        Map<Long, float[]> kz = logits(k.path());
        float[] p0 = probabilities[0];
        float[] q0 = SoftTargets.soften(kz.get(0L), 1.0);
        int a = SoftTargets.argmax(p0);
        assertThat(q0[a]).isCloseTo(p0[a], within(1e-6f));
        float kept = 0;
        for (float q : q0) {
            kept += q;
        }
        assertThat(kept).isCloseTo(1f, within(1e-5f));

        // labels only: one-hot soft targets, i.e. pseudo-labels
        StructType labels = new StructType().add("id", DataTypes.LongType).add("label", DataTypes.IntegerType);
        String argmax = table("argmax", labels, allIds(),
                id -> RowFactory.create(id, SoftTargets.argmax(probabilities[(int) (long) id])));
        JobResult l = new ImportJob(spark()).run(config(argmax, "label", "soft-labels", null));
        logits(l.path()).forEach((id, z) -> {
            assertThat(SoftTargets.argmax(z)).isEqualTo(SoftTargets.argmax(probabilities[(int) (long) id]));
            assertThat(SoftTargets.soften(z, 1.0)[SoftTargets.argmax(z)]).isCloseTo(1f, within(1e-6f));
        });
    }

    @Test
    void incrementalKeepsAnUnchangedImportAndReimportsAChangedOne() throws Exception {
        List<Long> ids = allIds();
        String source = table("incremental", PROBABILITIES, ids, id -> RowFactory.create(id, probabilities[(int) (long) id]));
        JobResult first = new ImportJob(spark()).run(config(source, "probabilities", "soft-inc", PublishMode.INCREMENTAL));
        JobResult again = new ImportJob(spark()).run(config(source, "probabilities", "soft-inc", PublishMode.INCREMENTAL));
        assertThat(again.details()).containsKey("kept");
        assertThat(again.manifestId()).isEqualTo(first.manifestId());
        org.apache.commons.io.FileUtils.deleteDirectory(Path.of(source).toFile());
        float[] uniform = {0.25f, 0.25f, 0.25f, 0.25f};
        table("incremental", PROBABILITIES, ids, id -> RowFactory.create(id, id == 3 ? uniform
                : probabilities[(int) (long) id]));
        JobResult changed = new ImportJob(spark()).run(config(source, "probabilities", "soft-inc",
                PublishMode.INCREMENTAL));
        assertThat(changed.details()).doesNotContainKey("kept");
        assertThat(changed.manifestId()).isNotEqualTo(first.manifestId());
        assertThat(SoftTargets.soften(logits(changed.path()).get(3L), 1.0)).containsExactly(uniform, within(1e-6f));
    }

    @Test
    void refusesBadImportsNamingTheRow() {
        List<Long> ids = allIds();
        Function<Long, Row> good = id -> RowFactory.create(id, probabilities[(int) (id % ROWS)]);
        List<Long> missing = new ArrayList<>(ids);
        missing.remove(Long.valueOf(17));
        assertRefused(table("missing", PROBABILITIES, missing, good), "probabilities",
                "1 transfer rows have no imported output, e.g. id 17");
        List<Long> extra = new ArrayList<>(ids);
        extra.add(5000L);
        assertRefused(table("extra", PROBABILITIES, extra, good), "probabilities",
                "1 imported rows are not in the transfer set, e.g. id 5000");
        List<Long> twice = new ArrayList<>(ids);
        twice.add(9L);
        assertRefused(table("twice", PROBABILITIES, twice, good), "probabilities",
                "id 9 appears 2 times in the import");
        assertRefused(table("not-one", PROBABILITIES, ids, id -> RowFactory.create(id, id == 33
                ? new float[] {0.5f, 0.4f, 0.05f, 0.01f} : probabilities[(int) (long) id])), "probabilities",
                "imported probabilities sum to 0.96");
        assertRefused(table("wide", PROBABILITIES, ids, id -> RowFactory.create(id, id == 40
                ? new float[] {0.2f, 0.2f, 0.2f, 0.2f, 0.2f} : probabilities[(int) (long) id])), "probabilities",
                "imported probabilities for id 40 has 5 values, the transfer set has 4 classes");
        StructType logits = new StructType().add("id", DataTypes.LongType)
                .add("logits", DataTypes.createArrayType(DataTypes.FloatType));
        assertRefused(table("nan", logits, ids, id -> RowFactory.create(id, id == 41
                ? new float[] {Float.NaN, 0f, 0f, 0f} : probabilities[(int) (long) id])), "logits",
                "non-finite imported logit NaN for id 41");
        assertRefused(table("negative", PROBABILITIES, ids, id -> RowFactory.create(id, id == 42
                ? new float[] {1.2f, -0.2f, 0f, 0f} : probabilities[(int) (long) id])), "probabilities",
                "imported probability 1.2000000476837158 for id 42 is not in [0, 1]");
        assertThatThrownBy(() -> new ImportJob(spark()).run(new ImportConfig(transfer,
                table("no-id", PROBABILITIES, ids, good), "parquet", Map.of(), "probabilities", "row", null, null, 1e-3,
                null, dir.resolve("never").toString(), 1.0, null)))
                .hasMessage("--import-id 'row' not found in the import (has id, probabilities)");
    }

    private static void assertRefused(String source, String format, String message) {
        String out = dir.resolve("refused-" + Path.of(source).getFileName()).toString();
        assertThatThrownBy(() -> new ImportJob(spark()).run(config(source, format, out, null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
        assertThat(Files.exists(Path.of(out))).as("nothing published at " + out).isFalse();
    }
}
