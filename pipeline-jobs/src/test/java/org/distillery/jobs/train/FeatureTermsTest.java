package org.distillery.jobs.train;

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
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.label.LabelConfig;
import org.distillery.jobs.label.LabelJob;
import org.distillery.model.loss.Relation;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetSchema;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The label job's stored teacher layer, and training with FitNets hints and relation terms against it. */
class FeatureTermsTest extends SparkTestBase {
    private static final int HIDDEN = 32; // the fixture teacher's hidden layer (layer 0)
    @TempDir
    static Path dir;
    static String transfer;
    static String validation;
    static String soft;
    static String plainSoft;
    static MultiLayerNetwork teacher;

    @BeforeAll
    static void fixtures() {
        transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 600, 31, 0);
        validation = Fixtures.transferSet(spark(), dir.resolve("validation").toString(), 200, 32, 10_000);
        teacher = Fixtures.teacher(9, 60);
        String zip = Fixtures.saveZip(spark(), teacher, dir.resolve("teacher.zip").toString());
        soft = new LabelJob(spark()).run(LabelConfig.builder(transfer, dir.resolve("soft").toString()).teacher(zip)
                .temperature(2.0).batchSize(128).build()
                .withHintLayer(0)).path();
        plainSoft = new LabelJob(spark()).run(LabelConfig.builder(transfer, dir.resolve("plain").toString())
                .teacher(zip).temperature(2.0).batchSize(128).build()).path();
    }

    private static TrainConfig kd(String out, FeatureTerms features, int epochs) {
        return small(Objective.KD).softTargets(soft).validation(validation).out(out).epochs(epochs).patience(epochs)
                .alphas(List.of(1.0)).labelled(40).features(features).build();
    }

    @Test
    void labelStoresTheTeacherLayerActivations() {
        Manifest m = Storage.of(spark()).publishedManifest(soft);
        assertThat(m.number(SoftTargetSchema.HINT_LAYER)).isEqualTo(0);
        assertThat(m.number(SoftTargetSchema.HINT_WIDTH)).isEqualTo(HIDDEN);
        assertThat(m.number(SoftTargetSchema.SCHEMA_VERSION)).isEqualTo(2);
        List<Row> rows = spark().read().parquet(soft).orderBy(SoftTargetSchema.ID).limit(20)
                .select(SoftTargetSchema.ID, SoftTargetSchema.HINT).collectAsList();
        Map<Long, float[]> features = new java.util.HashMap<>();
        for (Row r : spark().read().parquet(transfer).collectAsList()) {
            features.put(r.getLong(0), TransferTables.floats(r, 1));
        }
        for (Row r : rows) {
            INDArray x = Nd4j.create(features.get(r.getLong(0)), new long[] {1, Fixtures.FEATURES}, 'c')
                    .castTo(DataType.FLOAT);
            float[] expected = teacher.feedForwardToLayer(0, x, false).get(1).toFloatVector();
            float[] stored = TransferTables.floats(r, 1);
            assertThat(stored).hasSize(HIDDEN);
            for (int j = 0; j < HIDDEN; j++) {
                assertThat(stored[j]).isCloseTo(expected[j], within(1e-5f));
            }
        }
        assertThat(rows).hasSize(20);
    }

    @Test
    void jointHintsTrainARegressorHeadThatThePublishedStudentDrops() {
        String out = dir.resolve("joint").toString();
        new TrainJob(spark()).run(kd(out, new FeatureTerms(1.0, "joint", null, 1, Relation.NONE, 0), 3));
        MultiLayerNetwork student = ModelArtifact.read(Storage.of(spark()), out).network();
        assertThat(student.getOutputLayer().getParam("W").shape()).containsExactly(8, Fixtures.CLASSES);
        Manifest m = Storage.of(spark()).publishedManifest(out);
        assertThat(m.text("featureTerms")).isEqualTo("hints (joint, beta 1.0, guided layer last)");
        assertThat(m.number("validationAccuracy")).isGreaterThan(0.5);
    }

    @Test
    void twoStageFitsTheGuidedLayerToTheHintFirst() throws Exception {
        String out = dir.resolve("two-stage").toString();
        new TrainJob(spark()).run(kd(out, new FeatureTerms(0.5, "two-stage", 0, 4, Relation.NONE, 0), 4));
        List<Map<String, Object>> hintEpochs = scoreLines(out).stream()
                .filter(l -> "hints".equals(l.get("stage"))).toList();
        assertThat(hintEpochs).hasSize(4);
        double first = ((Number) hintEpochs.get(0).get("trainScore")).doubleValue();
        double last = ((Number) hintEpochs.get(3).get("trainScore")).doubleValue();
        assertThat(last).as("the hint stage's mean squared error falls").isLessThan(first * 0.8);
        assertThat(Storage.of(spark()).publishedManifest(out).text("featureTerms"))
                .isEqualTo("hints (two-stage, beta 0.5, guided layer 0, 4 hint epochs)");
        assertThat(Storage.of(spark()).publishedManifest(out).number("validationAccuracy")).isGreaterThan(0.5);
    }

    /** A heavily weighted relation term leaves the student's logits closer in relation to the teacher's layer. */
    @Test
    void relationTermPullsTheStudentsRelationsTowardsTheTeachers() {
        String plain = dir.resolve("kd-only").toString();
        String related = dir.resolve("related").toString();
        new TrainJob(spark()).run(kd(plain, null, 3));
        new TrainJob(spark()).run(kd(related, new FeatureTerms(0, null, null, 1, Relation.SIMILARITY, 20.0), 3));
        assertThat(Storage.of(spark()).publishedManifest(related).text("featureTerms"))
                .isEqualTo("relation sp (lambda 20.0)");
        List<Row> rows = spark().read().parquet(validation).orderBy("id").limit(64).collectAsList();
        float[][] x = new float[rows.size()][];
        for (int i = 0; i < x.length; i++) {
            x[i] = TransferTables.floats(rows.get(i), 1);
        }
        INDArray features = Nd4j.create(x).castTo(DataType.FLOAT);
        INDArray hint = teacher.feedForwardToLayer(0, features, false).get(1);
        double withoutTerm = Relation.SIMILARITY.loss(logits(plain, features), hint);
        double withTerm = Relation.SIMILARITY.loss(logits(related, features), hint);
        assertThat(withTerm).isLessThan(withoutTerm * 0.8);
    }

    @Test
    void refusesFeatureTermsWithoutAStoredLayerOrOnTheWrongLayer() {
        TrainConfig noLayer = small(Objective.KD).softTargets(plainSoft).validation(validation)
                .out(dir.resolve("x").toString()).alphas(List.of(1.0))
                .features(new FeatureTerms(0, null, null, 1, Relation.RKD, 1.0)).build();
        assertThatThrownBy(() -> new TrainJob(spark()).run(noLayer)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("need a stored teacher layer, but the soft targets at " + plainSoft
                        + " have none (label them with --hint-layer L)");
        assertThatThrownBy(() -> small(Objective.KD).softTargets(soft).validation(validation).out("o")
                .architecture("mlp:16,8").alphas(List.of(1.0))
                .features(new FeatureTerms(1, "joint", 0, 1, Relation.NONE, 0)).build())
                .hasMessage("--hint-schedule joint guides the student's last hidden layer (1), got guided layer 0;"
                        + " use two-stage for another layer");
        assertThatThrownBy(() -> small(Objective.HARD).transfer(transfer).validation(validation).out("o")
                .features(new FeatureTerms(1, null, null, 1, Relation.NONE, 0)).build())
                .hasMessage("hint and relation terms only apply to objective kd, not hard");
        assertThatThrownBy(() -> LabelConfig.builder(transfer, "o").teachers(List.of("a.zip", "b.zip")).temperature(2)
                .batchSize(64).hintLayer(0).build())
                .hasMessage("--hint-layer needs a single teacher (layers of an ensemble's members are not averaged),"
                        + " got 2 teachers");
        assertThatThrownBy(() -> new LabelJob(spark()).run(LabelConfig
                .builder(transfer, dir.resolve("bad-layer").toString()).teacher(dir.resolve("teacher.zip").toString())
                .temperature(2.0).batchSize(128).build().withHintLayer(5)))
                .hasMessage("hint layer 5 out of range: the teacher has layers 0 to 1");
    }

    private static INDArray logits(String model, INDArray features) {
        return ModelArtifact.read(Storage.of(spark()), model).network().output(features, false);
    }

    private static List<Map<String, Object>> scoreLines(String out) throws Exception {
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        List<Map<String, Object>> lines = new java.util.ArrayList<>();
        for (String line : Storage.of(spark()).readText(out + "/" + TrainJob.SCORES).split("\n")) {
            if (!line.isBlank()) {
                lines.add(mapper.readValue(line, Map.class));
            }
        }
        return lines;
    }

    /** A one-epoch run of a tiny student on the fixtures. */
    private static TrainConfigBuilder small(Objective objective) {
        return TrainConfig.builder(objective).architecture("mlp:8").epochs(1).patience(1).learningRate(0.01)
                .batchSize(16).averagingFrequency(3);
    }
}
