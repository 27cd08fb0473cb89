package org.distillery.jobs.calibrate;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.LabelledSet;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.Scoring;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.calibration.Calibration;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model with its calibration folded into the output layer: its own logits are z / T (+ bias), T as fitted on
 * validation; the published model is what evaluate and export take; bad input is one line.
 */
class CalibrateJobTest extends SparkTestBase {
    /** Folded (W / T, b / T) against z / T computed apart: float rounding of two computations. */
    private static final double TOLERANCE = 1e-4;
    @TempDir
    static Path dir;
    static String validation;
    static String test;
    static String model;

    @BeforeAll
    static void fixtures() {
        validation = Fixtures.transferSet(spark(), dir.resolve("validation").toString(), 300, 91, 0);
        test = Fixtures.transferSet(spark(), dir.resolve("test").toString(), 200, 92, 10_000);
        model = Fixtures.saveZip(spark(), Fixtures.teacher(5, 200), dir.resolve("model.zip").toString());
    }

    private static float[][] logits(String modelPath) {
        MultiLayerNetwork net = ModelArtifact.read(Storage.of(spark()), modelPath).network();
        LabelledSet v = LabelledSet.collect(TransferTables.readTransfer(spark(), validation));
        return Scoring.logits(new LogitModel(net), v.features());
    }

    @Test
    void temperatureIsFoldedIntoTheOutputLayer() throws Exception {
        String out = dir.resolve("calibrated").toString();
        CliRun plan = CliRun.of("calibrate", "--model", model, "--validation", validation, "--out", out, "--dry-run");
        assertThat(plan.code()).as(plan.err()).isZero();
        assertThat(plan.out()).contains("temperature fitted on validation");
        CliRun run = CliRun.of("calibrate", "--model", model, "--validation", validation, "--out", out);
        assertThat(run.code()).as(run.err()).isZero();

        Manifest m = Storage.of(spark()).publishedManifest(out);
        assertThat(m.job()).isEqualTo("calibrate");
        JsonNode c = Manifest.mapper().valueToTree(m.facts().get("calibration"));
        double t = c.get("temperature").asDouble();
        LabelledSet v = LabelledSet.collect(TransferTables.readTransfer(spark(), validation));
        float[][] before = logits(model);
        assertThat(t).isEqualTo(Calibration.fitTemperature(before, v.labels())); // the same code on the same logits
        assertThat(Math.abs(Math.log(t))).isGreaterThan(0.05); // a temperature that changes something
        float[][] after = logits(out);
        for (int i = 0; i < before.length; i++) {
            double scale = 1;
            for (float z : before[i]) {
                scale = Math.max(scale, Math.abs(z));
            }
            for (int k = 0; k < before[i].length; k++) {
                assertThat(Math.abs(after[i][k] - before[i][k] / t)).isLessThanOrEqualTo(TOLERANCE * scale);
            }
        }
        assertThat(c.at("/validation/accuracy_after").asDouble()).isEqualTo(c.at("/validation/accuracy_before")
                .asDouble());
        assertThat(c.at("/validation/nll_after").asDouble()).isLessThan(c.at("/validation/nll_before").asDouble());
        assertThat(m.inputs().get("model").path()).endsWith("model.zip");

        // the calibrated model is a model like any other: evaluate scores it, export writes it
        CliRun eval = CliRun.of("evaluate", "--test", test, "--teacher", model, "--model", "raw=" + model,
                "--model", "calibrated=" + out, "--out", dir.resolve("evaluation").toString(), "--latency-runs", "2");
        assertThat(eval.code()).as(eval.err()).isZero();
        JsonNode report = Manifest.mapper().readTree(Storage.of(spark()).readText(dir.resolve("evaluation")
                + "/report.json")).get("models");
        assertThat(report.at("/calibrated/agreement_with_teacher").asDouble()).isEqualTo(1.0);
        assertThat(report.at("/calibrated/accuracy").asDouble()).isEqualTo(report.at("/raw/accuracy").asDouble());
        CliRun export = CliRun.of("export", "--model", out, "--calibration", validation, "--out",
                dir.resolve("export").toString(), "--latency-runs", "2");
        assertThat(export.code()).as(export.err()).isZero();
    }

    @Test
    void biasMayChangePredictionsAndIsFittedAfterTheTemperature() {
        String out = dir.resolve("calibrated-both").toString();
        CliRun run = CliRun.of("calibrate", "--model", model, "--validation", validation, "--method",
                "temperature+bias", "--out", out);
        assertThat(run.code()).as(run.err()).isZero();
        JsonNode c = Manifest.mapper().valueToTree(Storage.of(spark()).publishedManifest(out).facts()
                .get("calibration"));
        assertThat(c.get("bias")).hasSize(Fixtures.CLASSES);
        assertThat(c.at("/foldCheck/maxRelativeDiff").asDouble()).isLessThanOrEqualTo(TOLERANCE);
    }

    @Test
    void badInputIsOneLineAndPublishesNothing() {
        String out = dir.resolve("refused").toString();
        CliRun method = CliRun.of("calibrate", "--model", model, "--validation", validation, "--method", "platt",
                "--out", out);
        assertThat(method.code()).isEqualTo(2);
        assertThat(method.err()).contains("--method must be temperature, bias or temperature+bias, got 'platt'")
                .doesNotContain("\tat ");
        String wide = Fixtures.saveZip(spark(), new org.distillery.model.nn.Architecture(java.util.List.of(4), 0)
                .build(Fixtures.FEATURES + 1, Fixtures.CLASSES,
                        org.distillery.model.loss.DistillationLoss.hardLabelsOnly(), 0.01, 1),
                dir.resolve("wide.zip").toString());
        CliRun shape = CliRun.of("calibrate", "--model", wide, "--validation", validation, "--out", out);
        assertThat(shape.code()).isEqualTo(2);
        assertThat(shape.err().strip()).doesNotContain("\n").contains("maps 17 features to 4 classes");
        CliRun aliased = CliRun.of("calibrate", "--model", model, "--validation", validation, "--out",
                validation + "/x");
        assertThat(aliased.code()).isEqualTo(2);
        assertThat(Storage.of(spark()).exists(out)).isFalse();
    }
}
