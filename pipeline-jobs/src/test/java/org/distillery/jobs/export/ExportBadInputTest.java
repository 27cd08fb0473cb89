package org.distillery.jobs.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.Storage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * What export refuses, each through the real command line: one line naming the problem and the value, exit code 2,
 * and nothing published (no output directory, no staging directory left beside it).
 */
class ExportBadInputTest extends SparkTestBase {
    @TempDir
    static Path dir;
    static String model;
    static String transfer;

    @BeforeAll
    static void fixtures() {
        transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 50, 3, 0);
        model = ExportFixtures.publishModel(Storage.of(spark()), Fixtures.teacher(7, 2),
                dir.resolve("models/student").toString(), transfer, "mlp:32");
    }

    @Test
    void aLayerWithoutAnOnnxMappingIsNamed() {
        MultiLayerNetwork lstm = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new LSTM.Builder().nIn(4).nOut(8).build())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(8).nOut(3)
                        .activation(Activation.IDENTITY).build()).build());
        lstm.init();
        String zip = Fixtures.saveZip(spark(), lstm, dir.resolve("lstm.zip").toString());
        refused("layer 0 (LSTM) has no ONNX mapping; " + NetworkPlan.MAPPED + " are exported",
                "--model", zip, "--out", out("lstm"));
    }

    @Test
    void int8WithoutCalibrationRowsIsRefused() {
        refused("int8 quantization needs calibration rows: give --calibration with a published transfer set, got none",
                "--model", model, "--quantize", "int8", "--out", out("no-calibration"));
        String empty = Fixtures.publishTransfer(spark(), dir.resolve("empty").toString(), List.of(), Fixtures.FEATURES);
        refused("transfer set is empty (0 rows): " + empty, "--model", model, "--quantize", "int8",
                "--calibration", empty, "--out", out("empty-calibration"));
        refused("calibration rows must be >= 1, got 0", "--model", model, "--quantize", "int8", "--calibration",
                transfer, "--calibration-rows", "0", "--out", out("zero-rows"));
    }

    @Test
    void anOutputThatAliasesAnInputIsRefused() {
        String same = dir.resolve("models/./student/").toString();
        refused("--out " + same + " is the same location as input --model " + model, "--model", model, "--out", same);
        String inside = dir.resolve("models/student/onnx").toString();
        refused("--out " + inside + " is inside input --model " + model, "--model", model, "--out", inside);
        String around = dir.resolve("models/x/..").toString();
        refused("--out " + around + " contains input --model " + model, "--model", model, "--out", around);
        String underTransfer = dir.resolve("transfer/export").toString();
        refused("--out " + underTransfer + " is inside input --calibration " + transfer, "--model", model,
                "--quantize", "int8", "--calibration", transfer, "--out", underTransfer);
    }

    @Test
    void anUnknownFormatIsRefused() {
        refused("export format must be onnx, got 'tflite'", "--model", model, "--format", "tflite", "--out",
                out("tflite"));
    }

    private static String out(String name) {
        return dir.resolve("exports/" + name).toString();
    }

    /** export ARGS exits 2 with exactly {@code message}, with and without --dry-run, and publishes nothing. */
    private static void refused(String message, String... args) {
        for (boolean dry : new boolean[] {true, false}) {
            List<String> cmd = new java.util.ArrayList<>(List.of("export"));
            cmd.addAll(List.of(args));
            if (dry) {
                cmd.add("--dry-run");
            }
            CliRun r = CliRun.of(cmd);
            assertThat(r.code()).as(String.join(" ", cmd) + ": " + r.err()).isEqualTo(2);
            assertThat(r.err().strip()).isEqualTo("distill export: error: " + message);
        }
        assertThat(published()).as("published after " + message).isEmpty();
    }

    /** Everything under the exports directory and any staging directory anywhere under the test's directory. */
    private static List<Path> published() {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(p -> p.startsWith(dir.resolve("exports")) && !p.equals(dir.resolve("exports"))
                    || p.getFileName().toString().contains(".staging-")
                    || p.startsWith(dir.resolve("models/student/onnx"))).toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
