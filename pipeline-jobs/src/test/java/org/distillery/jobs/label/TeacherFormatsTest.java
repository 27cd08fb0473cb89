package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.TeacherFiles;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.evaluate.EvaluateConfig;
import org.distillery.jobs.evaluate.EvaluateJob;
import org.distillery.model.nn.LogitFunction;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetSchema;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Keras 2 HDF5 and ONNX teachers holding one DL4J teacher's weights ({@link TeacherFiles#write}: HDF5 written by h5py in
 * Keras 2's layout, ONNX exported by PyTorch; skipped without python3 and the packages of requirements.txt, except in
 * CI) label a transfer set as the DL4J zip does; damaged files and teachers of the wrong width are refused. Teachers
 * that the frameworks trained and saved themselves: FrameworkTeachersTest.
 */
class TeacherFormatsTest extends SparkTestBase {
    private static final float EPS = 1e-4f;
    @TempDir
    static Path dir;
    static String transfer;
    static MultiLayerNetwork teacher;
    static String teacherZip;
    static Path linear;
    static Path softmax;

    @BeforeAll
    static void fixtures() throws Exception {
        transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 120, 17, 0);
        teacher = Fixtures.teacher(7, 20);
        teacherZip = Fixtures.saveZip(spark(), teacher, dir.resolve("teacher.zip").toString());
        linear = TeacherFiles.write(teacher, false, dir.resolve("linear"));
        softmax = TeacherFiles.write(teacher, true, dir.resolve("softmax"));
    }

    @Test
    void kerasAndOnnxTeachersLabelAsTheDl4jZipDoes() throws Exception {
        Map<Long, float[]> expected = logits(label(teacherZip, "soft-zip"));
        for (String file : List.of("sequential.h5", "functional.h5", "teacher.onnx")) {
            String path = linear.resolve(file).toString();
            JobResult result = label(path, "soft-" + file);
            Map<Long, float[]> actual = logits(result);
            assertThat(actual.keySet()).as(file).isEqualTo(expected.keySet());
            actual.forEach((id, z) -> assertThat(z).as(file + " id " + id).containsExactly(expected.get(id), within(EPS)));

            Manifest m = Storage.of(spark()).publishedManifest(result.path());
            String sha = sha256(path);
            assertThat(m.text("teacherSha256")).isEqualTo(sha);
            assertThat(m.facts().get("teachers")).asInstanceOf(InstanceOfAssertFactories.LIST).singleElement()
                    .isEqualTo(Map.of("path", "file:" + path, "sha256", sha, "format",
                            file.endsWith(".onnx") ? "ONNX" : "Keras HDF5", "weight", 1.0));
            assertThat(m.inputs().get("teacher").path()).isEqualTo("file:" + path);
        }
    }

    @Test
    void formatsMixInAnEnsembleThroughTheCommandLine() throws Exception {
        String out = dir.resolve("soft-ensemble").toString();
        String h5 = linear.resolve("sequential.h5").toString();
        String onnx = linear.resolve("teacher.onnx").toString();
        CliRun r = CliRun.of("label", "--transfer", transfer, "--teacher", h5 + "," + onnx, "--ensemble", "logit",
                "--teacher-sha256", sha256(h5) + "," + sha256(onnx), "--out", out, "-T", "2");
        assertThat(r.code()).as(r.err()).isZero();
        Map<Long, float[]> expected = logits(label(teacherZip, "soft-zip-2"));
        logits(out).forEach((id, z) -> assertThat(z).as("id " + id).containsExactly(expected.get(id), within(EPS)));
    }

    @Test
    void softmaxOutputsGiveTheTeachersDistribution() throws Exception {
        INDArray x = Nd4j.rand(DataType.FLOAT, 50, Fixtures.FEATURES).muli(1.5);
        INDArray z = new LogitModel(teacher).logits(x);
        // Keras: DL4J recomputes the softmax layer's input, the logits themselves
        LogitFunction keras = teacher(softmax.resolve("sequential.h5"));
        assertThat(keras.describe()).isEqualTo("fast dense path (gemm chain)");
        assertThat(keras.logits(x).equalsWithEps(z, EPS)).isTrue();
        // ONNX: only the probabilities leave the graph; their log is the logits less each row's log-sum-exp
        LogitFunction onnx = teacher(softmax.resolve("teacher.onnx"));
        assertThat(onnx.describe()).contains("log of the final Softmax");
        float[][] logProbabilities = onnx.logits(x).toFloatMatrix();
        double[][] logits = z.toDoubleMatrix();
        for (int i = 0; i < logits.length; i++) {
            double max = java.util.Arrays.stream(logits[i]).max().orElseThrow();
            double lse = max + Math.log(java.util.Arrays.stream(logits[i]).map(v -> Math.exp(v - max)).sum());
            for (int j = 0; j < logits[i].length; j++) {
                assertThat(logProbabilities[i][j]).as("row %d class %d", i, j).isCloseTo((float) (logits[i][j] - lse),
                        within(EPS));
            }
        }
        assertThat(teacher(linear.resolve("teacher.onnx")).describe()).doesNotContain("Softmax");
    }

    @Test
    void damagedFilesGiveOneLineErrorsAndPublishNothing() throws Exception {
        byte[] h5 = Files.readAllBytes(linear.resolve("sequential.h5"));
        byte[] onnx = Files.readAllBytes(linear.resolve("teacher.onnx"));
        Map<String, byte[]> damaged = new LinkedHashMap<>();
        damaged.put("truncated.h5", java.util.Arrays.copyOf(h5, h5.length / 2));
        damaged.put("truncated.onnx", java.util.Arrays.copyOf(onnx, onnx.length / 2));
        damaged.put("garbage.onnx", "not a model".getBytes(StandardCharsets.UTF_8));
        damaged.put("garbage.bin", "not a model".getBytes(StandardCharsets.UTF_8));
        Map<String, String> messages = Map.of(
                "truncated.h5", "not a readable Keras HDF5 model: ",
                "truncated.onnx", "not a readable ONNX model: ",
                "garbage.onnx", "not a readable ONNX model: ",
                "garbage.bin", "not a DL4J zip, Keras archive, Keras HDF5 or ONNX model: ");
        for (Map.Entry<String, byte[]> e : damaged.entrySet()) {
            Path file = Files.write(dir.resolve(e.getKey()), e.getValue());
            Path out = dir.resolve("soft-" + e.getKey());
            CliRun r = CliRun.of("label", "--transfer", transfer, "--teacher", file.toString(), "--out", out.toString());
            assertThat(r.code()).as(r.err()).isEqualTo(2);
            assertThat(r.err().strip()).doesNotContain("\n")
                    .startsWith("distill label: error: " + messages.get(e.getKey()) + "file:" + file);
            assertThat(Files.exists(out)).as(e.getKey()).isFalse();
        }
    }

    @Test
    void teachersOfTheWrongWidthAreRefused() throws Exception {
        MultiLayerNetwork wide = new org.distillery.model.nn.Architecture(List.of(8), 0).build(Fixtures.FEATURES + 1,
                Fixtures.CLASSES, org.distillery.model.loss.DistillationLoss.hardLabelsOnly(), 0.01, 3);
        Path files = TeacherFiles.write(wide, false, dir.resolve("wide"));
        for (String file : List.of("sequential.h5", "teacher.onnx")) {
            String path = files.resolve(file).toString();
            String out = dir.resolve("soft-wide-" + file).toString();
            assertThatThrownBy(() -> new LabelJob(spark()).run(LabelConfig.builder(transfer, out).teacher(path)
                    .temperature(1).batchSize(64).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("teacher input [N, 17] does not match the transfer set's example shape [16]: file:"
                            + path);
            assertThat(Files.exists(Path.of(out))).isFalse();
        }
    }

    @Test
    void hintLayersAreReadFromKerasTeachersAndRefusedForOnnx() {
        String h5 = linear.resolve("sequential.h5").toString();
        JobResult fromKeras = new LabelJob(spark()).run(LabelConfig
                .builder(transfer, dir.resolve("soft-hint-h5").toString()).teacher(h5).temperature(2.0).batchSize(32)
                .build().withHintLayer(0));
        JobResult fromZip = new LabelJob(spark()).run(LabelConfig
                .builder(transfer, dir.resolve("soft-hint-zip").toString()).teacher(teacherZip).temperature(2.0)
                .batchSize(32).build().withHintLayer(0));
        Map<Long, float[]> expected = hints(fromZip.path());
        Map<Long, float[]> actual = hints(fromKeras.path());
        assertThat(actual.keySet()).isEqualTo(expected.keySet());
        actual.forEach((id, h) -> assertThat(h).as("id " + id).hasSize(32).containsExactly(expected.get(id),
                within(EPS)));

        String onnx = linear.resolve("teacher.onnx").toString();
        String out = dir.resolve("soft-hint-onnx").toString();
        assertThatThrownBy(() -> new LabelJob(spark()).run(LabelConfig.builder(transfer, out).teacher(onnx)
                .temperature(2.0).batchSize(32).build()
                .withHintLayer(0)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--hint-layer reads the layers of a DL4J or Keras teacher, but file:" + onnx + " is ONNX");
        assertThat(Files.exists(Path.of(out))).isFalse();
    }

    @Test
    void evaluateReadsKerasAndOnnxTeachers() {
        String h5 = linear.resolve("sequential.h5").toString();
        EvaluateJob.Result r = new EvaluateJob(spark()).run(new EvaluateConfig(transfer, h5,
                Map.of("zip", teacherZip), dir.resolve("eval-h5").toString(), 2));
        assertThat(r.models().get("zip").get("agreement_with_teacher")).isEqualTo(1.0);
        assertThat((double) r.models().get("zip").get("mean_kl_from_teacher")).isCloseTo(0.0, within(1e-6));

        // the same weights exported to ONNX, run by ONNX Runtime: another kernel, so KL within a tolerance
        String onnx = linear.resolve("teacher.onnx").toString();
        EvaluateJob.Result o = new EvaluateJob(spark()).run(new EvaluateConfig(transfer, onnx,
                Map.of("zip", teacherZip), dir.resolve("eval-onnx").toString(), 2));
        assertThat(o.models().get("teacher").get("format")).isEqualTo("ONNX");
        assertThat(o.models().get("zip").get("agreement_with_teacher")).isEqualTo(1.0);
        assertThat((double) o.models().get("zip").get("mean_kl_from_teacher")).isCloseTo(0.0, within(1e-6));
    }

    private static JobResult label(String teacherPath, String out) {
        return new LabelJob(spark()).run(LabelConfig.builder(transfer, dir.resolve(out).toString()).teacher(teacherPath)
                .temperature(2.0).batchSize(32).build());
    }

    private static Map<Long, float[]> hints(String path) {
        Map<Long, float[]> out = new HashMap<>();
        for (Row r : spark().read().parquet(path).select(SoftTargetSchema.ID, SoftTargetSchema.HINT).collectAsList()) {
            out.put(r.getLong(0), TransferTables.floats(r, 1));
        }
        return out;
    }

    /** The teacher in {@code file}, read as the label job reads it (an ONNX model with its external data). */
    private static LogitFunction teacher(Path file) {
        return ModelArtifact.read(Storage.of(spark()), file.toString()).teacher(null, null);
    }

    /** The teacher's SHA-256: its file's, or for an ONNX model with external data, that of the files' listing. */
    private static String sha256(String path) throws IOException {
        ModelArtifact artifact = ModelArtifact.read(Storage.of(spark()), path);
        if (artifact.file().sideFiles().isEmpty()) {
            assertThat(artifact.sha256()).isEqualTo(Models.sha256(Files.readAllBytes(Path.of(path))));
        }
        return artifact.sha256();
    }

    private static Map<Long, float[]> logits(JobResult result) {
        return logits(result.path());
    }

    private static Map<Long, float[]> logits(String path) {
        Map<Long, float[]> out = new HashMap<>();
        for (Row r : TransferTables.readSoftTargets(spark(), path).rows().collectAsList()) {
            out.put(r.getLong(0), TransferTables.floats(r, 2));
        }
        return out;
    }
}
