package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.nn.Architecture;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** Several teachers averaged with weights, as probabilities (default) or as logits; each teacher's hash recorded. */
class TeacherEnsembleTest extends SparkTestBase {
    @TempDir
    static Path dir;
    static String transfer;
    static MultiLayerNetwork a;
    static MultiLayerNetwork b;
    static String aZip;
    static String bZip;

    @BeforeAll
    static void fixtures() {
        transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 120, 51, 0);
        a = Fixtures.teacher(21, 10);
        b = Fixtures.teacher(22, 40);
        aZip = Fixtures.saveZip(spark(), a, dir.resolve("a.zip").toString());
        bZip = Fixtures.saveZip(spark(), b, dir.resolve("b.zip").toString());
    }

    private static LabelConfig config(String out, String ensemble) {
        return LabelConfig.builder(transfer, out).teachers(List.of(aZip, bZip)).weights(List.of(1.0, 3.0))
                .ensemble(ensemble).temperature(2.0).batchSize(32).build();
    }

    private static float[] logits(MultiLayerNetwork net, float[] x) {
        return new LogitModel(net).logits(Nd4j.create(x, new long[] {1, x.length}, DataType.FLOAT))
                .castTo(DataType.FLOAT).toFloatVector();
    }

    @Test
    void probabilityAveragingStoresTheWeightedMeanOfTheTemperedTeachers() {
        String out = new LabelJob(spark()).run(config(dir.resolve("prob").toString(), "prob")).path();
        List<Row> rows = spark().read().parquet(out).join(spark().read().parquet(transfer).withColumnRenamed("label",
                "l"), "id").select("soft", "logits", "features").collectAsList();
        assertThat(rows).hasSize(120);
        for (Row r : rows) {
            float[] x = TransferTables.floats(r, 2);
            float[] pa = SoftTargets.soften(logits(a, x), 2.0);
            float[] pb = SoftTargets.soften(logits(b, x), 2.0);
            float[] soft = TransferTables.floats(r, 0);
            float[] stored = TransferTables.floats(r, 1);
            for (int c = 0; c < soft.length; c++) {
                double expected = 0.25 * pa[c] + 0.75 * pb[c];
                assertThat((double) soft[c]).isCloseTo(expected, within(1e-5));
                assertThat((double) stored[c]).isCloseTo(2.0 * Math.log(expected), within(1e-4));
            }
        }
        Manifest m = Storage.of(spark()).publishedManifest(out);
        assertThat(m.inputs()).containsKeys("teacher", "teacher2");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> teachers = (List<Map<String, Object>>) m.facts().get("teachers");
        assertThat(teachers).extracting(t -> t.get("weight")).containsExactly(0.25, 0.75);
        assertThat(teachers.get(0).get("sha256")).isEqualTo(m.inputs().get("teacher") == null ? null
                : org.distillery.jobs.common.ModelArtifact.read(Storage.of(spark()), aZip).sha256());
        assertThat(m.text("teacherSha256")).isNotIn(teachers.get(0).get("sha256"), teachers.get(1).get("sha256"));
        assertThat(m.text("ensemble")).isEqualTo("prob");
    }

    @Test
    void logitAveragingStoresTheWeightedMeanOfTheLogits() {
        String out = new LabelJob(spark()).run(config(dir.resolve("logit").toString(), "logit")).path();
        Row r = spark().read().parquet(out).join(spark().read().parquet(transfer).withColumnRenamed("label", "l"), "id")
                .select("logits", "features").first();
        float[] x = TransferTables.floats(r, 1);
        float[] za = logits(a, x);
        float[] zb = logits(b, x);
        float[] stored = TransferTables.floats(r, 0);
        for (int c = 0; c < stored.length; c++) {
            assertThat((double) stored[c]).isCloseTo(0.25 * za[c] + 0.75 * zb[c], within(1e-5));
        }
    }

    @Test
    void teachersWithDifferentClassCountsAreRefused() {
        MultiLayerNetwork three = new Architecture(List.of(8), 0).build(Fixtures.FEATURES, 3,
                DistillationLoss.hardLabelsOnly(), 0.01, 5);
        String threeZip = Fixtures.saveZip(spark(), three, dir.resolve("three.zip").toString());
        String out = dir.resolve("never").toString();
        assertThatThrownBy(() -> new LabelJob(spark()).run(LabelConfig.builder(transfer, out)
                .teachers(List.of(aZip, threeZip)).temperature(2.0).batchSize(32).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("teachers have different class counts: " + aZip.replaceFirst("^(?!file:)", "file:")
                        + " has 4, " + threeZip.replaceFirst("^(?!file:)", "file:") + " has 3");
        assertThat(dir.resolve("never")).doesNotExist();
        assertThatThrownBy(() -> LabelConfig.builder(transfer, out).teachers(List.of(aZip, bZip)).weights(List.of(1.0))
                .temperature(2.0).batchSize(32).build()).hasMessage("got 1 teacher weights for 2 teachers");
        assertThatThrownBy(() -> LabelConfig.builder(transfer, out).teachers(List.of(aZip)).ensemble("median")
                .temperature(2.0).batchSize(32).build())
                .hasMessage("ensemble must be prob or logit, got 'median'");
    }
}
