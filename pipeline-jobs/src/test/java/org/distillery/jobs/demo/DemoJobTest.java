package org.distillery.jobs.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.distillery.jobs.IdxFixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.Storage;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole chain on tiny IDX files: every stage publishes, the report names every model, a rerun resumes. */
class DemoJobTest extends SparkTestBase {
    @TempDir
    Path dir;

    private DemoConfig config(Path source, int labelled) {
        return new DemoConfig(dir.resolve("run").toString(), source.toString(), 50, labelled, 3, "mlp:32", 0.2, 15, 16,
                "mlp:8", 3, 10, 16, 1.0, List.of(1.0, 2.0), List.of(1.0), 2, 3);
    }

    @Test
    void runsTheChainWritesTheReportAndResumesOnRerun() throws Exception {
        Path source = IdxFixtures.write(dir.resolve("idx"), 400, 100, 6, 11);
        DemoJob.Result first = new DemoJob(spark()).run(config(source, 40));

        JsonNode report = Manifest.mapper().readTree(Files.readString(dir.resolve("run/report.json")));
        for (String model : List.of("teacher", "baseline", "pseudo_label", "student", "student_onnx", "student_int8")) {
            JsonNode m = report.path("models").path(model);
            assertThat(m.path("accuracy").asDouble(-1)).as(model).isBetween(0.0, 1.0);
            assertThat(m.path("agreement_with_teacher").asDouble(-1)).as(model).isBetween(0.0, 1.0);
            assertThat(m.path("params").asLong()).as(model).isPositive();
        }
        assertThat(report.path("models").path("teacher").path("accuracy").asDouble()).isGreaterThan(0.5);
        assertThat(report.path("models").path("student").path("params").asLong())
                .isLessThan(report.path("models").path("teacher").path("params").asLong());
        assertThat(first.stageSeconds()).containsKeys("ingest", "teacher", "label", "baseline", "pseudo_label",
                "student", "export", "evaluate");
        // the exported student: the same scores in ONNX Runtime (fp32), the same parameters in int8, and a card that
        // names the teacher the label job used and the example shape ingest recorded
        JsonNode models = report.path("models");
        assertThat(models.path("student_onnx").path("params").asLong()).isEqualTo(models.path("student").path("params")
                .asLong()).isEqualTo(models.path("student_int8").path("params").asLong());
        assertThat(models.path("student_onnx").path("agreement_with_teacher").asDouble())
                .isCloseTo(models.path("student").path("agreement_with_teacher").asDouble(),
                        org.assertj.core.api.Assertions.within(0.011));
        JsonNode card = Manifest.mapper().readTree(Files.readString(dir.resolve("run/export/student/card.json")));
        Manifest labelManifest = Storage.of(spark()).publishedManifest(dir.resolve("run/soft-targets/train").toString());
        assertThat(card.path("provenance").path("teacher SHA-256").asText())
                .isEqualTo(labelManifest.text("teacherSha256"));
        assertThat(card.path("provenance").path("objective").asText()).isEqualTo("kd");
        assertThat(card.path("interface").path("exampleShape").toString()).isEqualTo("[1,6,6]");
        assertThat(card.path("interface").path("preprocessing").asText()).contains("\"scale\":\"1/255\"")
                .contains("\"formula\":\"x = raw * scaleNumerator / scaleDenominator (float32)\"");
        assertThat(card.path("manifestChain").findValuesAsText("via")).contains("model > softTargets > teacher", "model > transfer > source");

        // calibration is fitted on the validation split (never the test split) and applied to the test split
        Storage storage = Storage.of(spark());
        var studentNet = org.distillery.jobs.common.ModelArtifact.read(storage, dir.resolve("run/students/kd").toString())
                .network();
        var validation = org.distillery.jobs.common.LabelledSet.collect(org.distillery.jobs.common.TransferTables
                .readTransfer(spark(), dir.resolve("run/data/validation").toString()));
        float[][] validationLogits = org.distillery.jobs.common.Scoring.logits(
                new org.distillery.model.nn.LogitModel(studentNet), validation.features());
        JsonNode calibration = report.path("models").path("student").path("calibration");
        assertThat(calibration.path("temperature").asDouble()).isEqualTo(
                org.distillery.model.calibration.Calibration.fitTemperature(validationLogits, validation.labels()));
        assertThat(calibration.path("bias")).hasSize(10);
        assertThat(calibration.path("reliability_before")).hasSize(10);
        assertThat(calibration.path("ece_after_temperature").asDouble(-1)).isBetween(0.0, 1.0);
        assertThat(report.path("calibration_fitted_on").isMissingNode()).isTrue(); // demo report: models only
        assertThat(first.evaluation().table()).contains("ECE(bias)");

        // the evaluation manifest chains back through train to label
        Manifest eval = storage.publishedManifest(dir.resolve("run/evaluation").toString());
        Manifest student = storage.publishedManifest(eval.inputs().get("student").path());
        Manifest label = storage.publishedManifest(student.inputs().get("softTargets").path());
        assertThat(student.inputs().get("softTargets").manifestId()).isEqualTo(label.id());
        assertThat(label.job()).isEqualTo("label");

        DemoJob.Result second = new DemoJob(spark()).run(config(source, 40));
        assertThat(second.stageSeconds()).containsEntry("teacher", 0.0).containsEntry("student", 0.0)
                .containsEntry("export", 0.0);

        assertThatThrownBy(() -> new DemoJob(spark()).run(config(source, 30)))
                .hasMessageContaining("exists with a different config");
    }
}
