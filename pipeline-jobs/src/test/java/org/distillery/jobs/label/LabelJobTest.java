package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

class LabelJobTest extends SparkTestBase {
    private static final int ROWS = 300;
    @TempDir
    static Path dir;
    static String transfer;
    static String teacherZip;
    static MultiLayerNetwork teacher;

    @BeforeAll
    static void fixtures() {
        transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), ROWS, 5, 1000);
        teacher = Fixtures.teacher(3, 30);
        teacherZip = Fixtures.saveZip(spark(), teacher, dir.resolve("teacher.zip").toString());
    }

    private static JobResult label(String out, double t) {
        return new LabelJob(spark()).run(LabelConfig.builder(transfer, out).teacher(teacherZip).temperature(t)
                .batchSize(64).build());
    }

    @Test
    void aLocalRunLoadsTheTeacherOnceForItsChecksAndItsTasks() {
        LabelConfig config = LabelConfig.builder(transfer, dir.resolve("checks-only").toString()).teacher(teacherZip)
                .temperature(2.0).build();
        LabelJob.Checked first = LabelJob.check(Storage.of(spark()), config);
        LabelJob.Checked again = LabelJob.check(Storage.of(spark()), config);
        assertThat(first.model().threadSafe()).isTrue(); // the fast dense path: one instance serves every task
        assertThat(again.model()).isSameAs(first.model());
        // the key the tasks look it up by (TeacherEnsemble): found without loading (no broadcast to load from)
        int[] shape = org.distillery.model.schema.TransferSchema.shape(first.transferManifest());
        assertThat(TeacherCache.get(TeacherCache.key(first.teacher().sha256(), null, shape), null, shape, null))
                .isSameAs(first.model());
    }

    @Test
    void writesOneSoftTargetRowPerInputRowWithItsManifest() throws Exception {
        String out = dir.resolve("soft").toString();
        JobResult result = label(out, 2.0);

        assertThat(result.rows()).isEqualTo(ROWS);
        TransferTables.SoftTargets soft = TransferTables.readSoftTargets(spark(), out);
        List<Row> rows = soft.rows().orderBy("id").collectAsList();
        assertThat(rows).hasSize(ROWS);
        assertThat(rows.stream().map(r -> r.getLong(0)).distinct().count()).isEqualTo(ROWS);
        Map<Long, Row> input = new HashMap<>();
        TransferTables.readTransfer(spark(), transfer).rows().collectAsList().forEach(r -> input.put(r.getLong(0), r));
        for (Row r : rows) {
            float[] logits = TransferTables.floats(r, 2);
            float[] p = TransferTables.floats(r, 3);
            assertThat(logits).hasSize(Fixtures.CLASSES);
            double sum = 0;
            for (float v : p) {
                sum += v;
            }
            assertThat(sum).isCloseTo(1.0, within(1e-5));
            assertThat(p).containsExactly(SoftTargets.soften(logits, 2.0), within(1e-6f));
            assertThat(r.getInt(1)).isEqualTo(input.get(r.getLong(0)).getInt(2));
        }
        // logits are the teacher's own outputs for that row, computed on the fast dense path
        assertThat(new org.distillery.model.nn.LogitModel(teacher).fastPath()).isTrue();
        Row first = input.get(rows.get(0).getLong(0));
        float[] expected = teacher.output(Nd4j.create(TransferTables.floats(first, 1), new long[] {1, Fixtures.FEATURES},
                DataType.FLOAT)).toFloatVector();
        assertThat(TransferTables.floats(rows.get(0), 2)).containsExactly(expected, within(1e-5f));

        Manifest m = soft.manifest();
        assertThat(m.job()).isEqualTo("label");
        assertThat(m.number("rows")).isEqualTo(ROWS);
        assertThat(m.number("temperature")).isEqualTo(2.0);
        assertThat(m.number("classes")).isEqualTo(Fixtures.CLASSES);
        assertThat(m.number("softTargetSchemaVersion")).isEqualTo(1);
        assertThat(m.text("teacherSha256")).isEqualTo(Models.sha256(Files.readAllBytes(Path.of(teacherZip))));
        assertThat(m.inputs().get("transfer").manifestId())
                .isEqualTo(Storage.of(spark()).publishedManifest(transfer).id());
        assertThat(m.id()).isEqualTo(result.manifestId());
    }

    @Test
    void refusesAnExistingOutputAndLeavesItIntact() {
        String out = dir.resolve("soft-existing").toString();
        JobResult first = label(out, 1.0);
        assertThatThrownBy(() -> label(out, 3.0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("output already exists");
        assertThat(Storage.of(spark()).publishedManifest(out).id()).isEqualTo(first.manifestId());
    }

    @Test
    void rejectsBadConfigWithTheValue() {
        assertThatThrownBy(() -> LabelConfig.builder(transfer, "x").teacher(teacherZip).temperature(0).batchSize(64)
                .build())
                .hasMessage("temperature must be a finite number > 0, got 0.0");
        // the output rule needs the filesystem: checked by the job (OutputRuleTest, BadInputCorpusTest)
        String inside = transfer + "/soft";
        assertThatThrownBy(() -> new LabelJob(spark()).run(LabelConfig.builder(transfer, inside).teacher(teacherZip)
                .temperature(1).batchSize(64).build()))
                .hasMessage("--out " + inside + " is inside input --transfer " + transfer);
    }

    @Test
    void rejectsATeacherOfTheWrongInputWidth() {
        MultiLayerNetwork wide = new org.distillery.model.nn.Architecture(List.of(8), 0)
                .build(Fixtures.FEATURES + 1, Fixtures.CLASSES, org.distillery.model.loss.DistillationLoss.hardLabelsOnly(),
                        0.01, 1);
        String zip = Fixtures.saveZip(spark(), wide, dir.resolve("wide.zip").toString());
        String out = dir.resolve("soft-wide").toString();
        assertThatThrownBy(() -> new LabelJob(spark()).run(LabelConfig.builder(transfer, out).teacher(zip)
                .temperature(1).batchSize(64).build()))
                .hasMessage("teacher input [N, 17] does not match the transfer set's example shape [16]: file:" + zip);
        assertThat(Files.exists(Path.of(out))).isFalse();
    }

    @Test
    void rejectsACorruptTeacherFile() throws Exception {
        Path corrupt = dir.resolve("corrupt.zip");
        byte[] good = Files.readAllBytes(Path.of(teacherZip));
        Files.write(corrupt, java.util.Arrays.copyOf(good, good.length / 3));
        assertThatThrownBy(() -> label2(corrupt.toString(), "soft-corrupt"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("not a readable DL4J MultiLayerNetwork model zip");
    }

    private static JobResult label2(String teacherPath, String out) {
        return new LabelJob(spark()).run(LabelConfig.builder(transfer, dir.resolve(out).toString()).teacher(teacherPath)
                .temperature(1).batchSize(64).build());
    }

    @Test
    void rejectsRowsWithNonFiniteFeaturesAndPublishesNothing() throws Exception {
        float[] bad = new float[Fixtures.FEATURES];
        bad[3] = Float.NaN;
        String nanTransfer = Fixtures.publishTransfer(spark(), dir.resolve("nan-transfer").toString(),
                List.of(RowFactory.create(7L, new float[Fixtures.FEATURES], 1), RowFactory.create(8L, bad, 2)),
                Fixtures.FEATURES);
        String out = dir.resolve("soft-nan").toString();
        assertThatThrownBy(() -> new LabelJob(spark()).run(LabelConfig.builder(nanTransfer, out).teacher(teacherZip)
                .temperature(1).batchSize(64).build()))
                .satisfies(e -> assertThat(rootMessage(e)).isEqualTo("non-finite feature value NaN for id 8"));
        assertThat(Files.exists(Path.of(out))).isFalse();
        try (var siblings = Files.list(dir)) {
            assertThat(siblings.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".soft-nan.staging"));
        }
    }

    @Test
    void refusesAnUnpublishedInput() throws Exception {
        Path unpublished = Files.createDirectories(dir.resolve("half-written"));
        assertThatThrownBy(() -> new LabelJob(spark())
                .run(LabelConfig.builder(unpublished.toString(), dir.resolve("soft-x").toString()).teacher(teacherZip)
                        .temperature(1).batchSize(64).build()))
                .hasMessageStartingWith("input is not a published distillery output");
    }

    static String rootMessage(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof IllegalArgumentException || c instanceof IllegalStateException) {
                return c.getMessage();
            }
        }
        return t.getMessage();
    }
}
