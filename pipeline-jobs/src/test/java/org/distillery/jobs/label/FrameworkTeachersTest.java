package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
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
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Teachers that PyTorch and Keras 3 trained and saved themselves ({@link TeacherFiles#frameworks}: torch.onnx.export
 * with its defaults, external data included; Keras 3 .keras archives and legacy HDF5), each labelling the rows the
 * framework ran, through the label job end to end: our logits equal the framework's within 1e-4. Teachers that are not
 * read are refused in one line before any row is.
 */
class FrameworkTeachersTest extends SparkTestBase {
    private static final double TOLERANCE = 1e-4;
    @TempDir
    static Path dir;
    static Path fw;
    static Map<String, Object> expected;
    static Map<String, String> transfers = new HashMap<>();

    @BeforeAll
    @SuppressWarnings("unchecked")
    static void fixtures() throws Exception {
        fw = TeacherFiles.frameworks(dir.resolve("fw"));
        expected = new ObjectMapper().readValue(fw.resolve("expected.json").toFile(), Map.class);
        Map<String, List<Integer>> shapes = (Map<String, List<Integer>>) expected.get("shapes");
        Map<String, List<List<Number>>> rows = (Map<String, List<List<Number>>>) expected.get("rows");
        for (String kind : shapes.keySet()) {
            List<Row> out = new ArrayList<>();
            List<List<Number>> x = rows.get(kind);
            for (int i = 0; i < x.size(); i++) {
                float[] f = new float[x.get(i).size()];
                for (int j = 0; j < f.length; j++) {
                    f[j] = x.get(i).get(j).floatValue();
                }
                out.add(RowFactory.create((long) i, f, i % 5));
            }
            int[] shape = shapes.get(kind).stream().mapToInt(Integer::intValue).toArray();
            int width = out.get(0).<float[]>getAs(1).length;
            transfers.put(kind, Fixtures.publishTransfer(spark(), dir.resolve("transfer-" + kind).toString(), out,
                    width, 5, shape));
            if (kind.equals("image")) { // the same rows under a manifest that records no shape: a vector [192]
                transfers.put("image-as-vector", Fixtures.publishTransfer(spark(),
                        dir.resolve("transfer-image-as-vector").toString(), out, width, 5, null));
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyFrameworkTeacherLabelsAsTheFrameworkComputes() throws Exception {
        Map<String, Map<String, Object>> models = (Map<String, Map<String, Object>>) expected.get("models");
        assertThat(models).containsKeys("torch_mlp.onnx", "torch_cnn_nchw.onnx", "torch_cnn_nhwc.onnx",
                "torch_two_outputs.onnx", "torch_two_outputs.onnx#probabilities", "keras_mlp.keras", "keras_mlp.h5",
                "keras_cnn.keras", "keras_cnn.h5", "keras_functional_cnn.keras", "keras_functional_cnn.h5");
        for (Map.Entry<String, Map<String, Object>> e : models.entrySet()) {
            String file = e.getKey().split("#")[0];
            String output = (String) e.getValue().get("output");
            String out = dir.resolve("soft-" + e.getKey().replace('#', '-')).toString();
            LabelConfig config = LabelConfig.builder(transfers.get((String) e.getValue().get("rows")), out)
                    .teacher(fw.resolve(file).toString()).temperature(2.0).batchSize(5).build()
                    .withTeacherOutputs(output == null ? List.of()
                    : List.of(output));
            JobResult result = new LabelJob(spark()).run(config); // batches of 5: fixed-batch exports pad the last
            double diff = maxDiff(logits(result.path()), (List<List<Number>>) e.getValue().get("logits"));
            System.out.printf("framework teacher %-40s max |logit - framework's| = %.2e%n", e.getKey(), diff);
            assertThat(diff).as(e.getKey()).isLessThanOrEqualTo(TOLERANCE);
            Manifest m = Storage.of(spark()).publishedManifest(result.path());
            String sha = ModelArtifact.read(Storage.of(spark()), fw.resolve(file).toString()).sha256();
            assertThat(m.text("teacherSha256")).isEqualTo(output == null ? sha
                    : Models.sha256((sha + "#" + output).getBytes(StandardCharsets.UTF_8)));
        }
    }

    @Test
    void anotherOutputOfTheSameModelIsAnotherTeacher() {
        String two = fw.resolve("torch_two_outputs.onnx").toString();
        String out = dir.resolve("soft-outputs").toString();
        CliRun first = CliRun.of("label", "--transfer", transfers.get("vector"), "--teacher", two, "--teacher-output",
                "logits", "--out", out);
        assertThat(first.code()).as(first.err()).isZero();
        CliRun again = CliRun.of("label", "--transfer", transfers.get("vector"), "--teacher", two, "--teacher-output",
                "probabilities", "--out", out, "--mode", "incremental");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.lastLine()).doesNotContain("\"kept\"");
        Map<Long, float[]> z = logits(out);
        float[] row = z.get(0L);
        double sum = 0;
        for (float v : row) {
            sum += Math.exp(v);
        }
        assertThat(sum).as("log-probabilities now").isCloseTo(1.0, within(1e-5));
    }

    @Test
    void onnxExternalDataIsPartOfTheTeachersIdentity() throws Exception {
        Path copy = Files.createDirectories(dir.resolve("external"));
        Files.copy(fw.resolve("torch_mlp.onnx"), copy.resolve("torch_mlp.onnx"), StandardCopyOption.REPLACE_EXISTING);
        Path data = Files.copy(fw.resolve("torch_mlp.onnx.data"), copy.resolve("torch_mlp.onnx.data"),
                StandardCopyOption.REPLACE_EXISTING);
        String model = copy.resolve("torch_mlp.onnx").toString();
        String listing = Models.sha256(Files.readAllBytes(Path.of(model))) + "  model\n"
                + Models.sha256(Files.readAllBytes(data)) + "  torch_mlp.onnx.data\n";
        String before = Models.sha256(listing.getBytes(StandardCharsets.UTF_8));
        assertThat(ModelArtifact.read(Storage.of(spark()), model).sha256()).isEqualTo(before);

        byte[] changed = Files.readAllBytes(data);
        changed[0] ^= 1; // one weight's lowest bit
        Files.write(data, changed);
        String after = ModelArtifact.read(Storage.of(spark()), model).sha256();
        assertThat(after).isNotEqualTo(before);
        CliRun pinned = CliRun.of("label", "--transfer", transfers.get("vector"), "--teacher", model,
                "--teacher-sha256", before, "--out", dir.resolve("soft-pinned").toString(), "--dry-run");
        assertThat(pinned.code()).as(pinned.err()).isEqualTo(2);
        assertThat(pinned.err().strip()).isEqualTo("distill label: error: teacher SHA-256 mismatch: --teacher-sha256 "
                + before + " but file:" + model + " has " + after);

        Files.delete(data);
        assertRefused(transfers.get("vector"), model, "ONNX model file:" + model + " keeps weights in an external data"
                + " file that was not found beside it: file:" + data);
    }

    @Test
    void aKerasArchiveIsNotReadAsADl4jZipWhateverItsName() throws Exception {
        Path renamed = Files.copy(fw.resolve("keras_cnn.keras"), dir.resolve("keras-cnn.zip"),
                StandardCopyOption.REPLACE_EXISTING);
        JobResult r = new LabelJob(spark()).run(LabelConfig
                .builder(transfers.get("image"), dir.resolve("soft-renamed").toString()).teacher(renamed.toString())
                .temperature(2.0).batchSize(8).build());
        assertThat(Storage.of(spark()).publishedManifest(r.path()).facts().get("teachers").toString())
                .contains("format=Keras archive");
        Path truncated = dir.resolve("truncated.keras");
        byte[] keras = Files.readAllBytes(fw.resolve("keras_cnn.keras"));
        Files.write(truncated, java.util.Arrays.copyOf(keras, keras.length / 2));
        CliRun damaged = CliRun.of("label", "--transfer", transfers.get("image"), "--teacher", truncated.toString(),
                "--out", dir.resolve("soft-truncated").toString());
        assertThat(damaged.code()).as(damaged.err()).isEqualTo(2);
        assertThat(damaged.err().strip()).doesNotContain("\n")
                .startsWith("distill label: error: not a readable Keras archive: file:" + truncated);
    }

    @Test
    void aTeacherWhoseInputIsNotTheExampleShapeIsRefusedBeforeAnyRowIsRead() {
        String cnn = fw.resolve("torch_cnn_nchw.onnx").toString();
        assertRefused(transfers.get("vector"), cnn, "teacher input [2, 3, 8, 8] does not match the transfer set's"
                + " example shape [12]: file:" + cnn);
        String keras = fw.resolve("keras_cnn.keras").toString();
        assertRefused(transfers.get("vector"), keras, "teacher input [N, 8, 8, 3] (channels-last) does not match the"
                + " transfer set's example shape [12]: file:" + keras);
        assertRefused(transfers.get("image-as-vector"), keras, "teacher input [N, 8, 8, 3] (channels-last) does not"
                + " match the transfer set's example shape [192], a vector that does not say where the channels are"
                + " (the transfer set needs its image shape [C, H, W]): file:" + keras);
        String mlp = fw.resolve("keras_mlp.h5").toString();
        assertRefused(transfers.get("image"), mlp, "teacher input [N, 12] does not match the transfer set's example"
                + " shape [3, 8, 8]: file:" + mlp);
    }

    @Test
    void aTeacherOfSeveralInputsIsRefusedNamingThem() {
        String two = fw.resolve("torch_two_inputs.onnx").toString();
        assertRefused(transfers.get("vector"), two, "ONNX teacher file:" + two + " has 2 inputs (x [2, 12], y [2, 12]):"
                + " which one the transfer set's features feed is ambiguous; a teacher with one input is read");
    }

    @Test
    void severalOutputsNeedTeacherOutputNamingOneOfThem() {
        String two = fw.resolve("torch_two_outputs.onnx").toString();
        assertRefused(transfers.get("vector"), two, "ONNX teacher file:" + two + " has 2 outputs (logits [2, 5],"
                + " probabilities [2, 5]): name the one holding logits or probabilities with --teacher-output");
        assertRefused(transfers.get("vector"), two, "--teacher-output 'scores' is not an output of ONNX teacher file:"
                + two + " (its outputs: logits, probabilities)", "--teacher-output", "scores");
    }

    @Test
    void aKerasLayerThatIsNotReadIsRefusedByName() {
        String lstm = fw.resolve("keras_lstm.keras").toString();
        assertRefused(transfers.get("vector"), lstm, "Keras layer 'lstm' (LSTM) is not supported; read are InputLayer,"
                + " Dense, Conv2D, MaxPooling2D, Flatten, Dropout, BatchNormalization: file:" + lstm);
    }

    @Test
    void evaluateReadsKeras3Files() {
        String archive = fw.resolve("keras_cnn.keras").toString();
        EvaluateJob.Result r = new EvaluateJob(spark()).run(new EvaluateConfig(transfers.get("image"), archive,
                Map.of("h5", fw.resolve("keras_cnn.h5").toString()), dir.resolve("eval-keras").toString(), 2));
        assertThat(r.models().get("h5").get("agreement_with_teacher")).isEqualTo(1.0);
        assertThat((double) r.models().get("h5").get("mean_kl_from_teacher")).isCloseTo(0.0, within(1e-6));
    }

    /** The label command, in a dry run and a real one, exits 2 with {@code message} alone and publishes nothing. */
    private static void assertRefused(String transfer, String teacher, String message, String... more) {
        for (boolean dryRun : new boolean[] {true, false}) {
            Path out = dir.resolve("refused-" + Math.abs((teacher + message).hashCode()));
            List<String> args = new ArrayList<>(List.of("label", "--transfer", transfer, "--teacher", teacher,
                    "--out", out.toString()));
            args.addAll(List.of(more));
            if (dryRun) {
                args.add("--dry-run");
            }
            CliRun r = CliRun.of(args);
            assertThat(r.code()).as(r.err()).isEqualTo(2);
            assertThat(r.err().strip()).isEqualTo("distill label: error: " + message);
            assertThat(Files.exists(out)).isFalse();
        }
    }

    private static Map<Long, float[]> logits(String path) {
        Map<Long, float[]> out = new HashMap<>();
        for (Row r : TransferTables.readSoftTargets(spark(), path).rows().collectAsList()) {
            out.put(r.getLong(0), TransferTables.floats(r, 2));
        }
        return out;
    }

    private static double maxDiff(Map<Long, float[]> ours, List<List<Number>> theirs) {
        assertThat(ours).hasSize(theirs.size());
        double max = 0;
        for (int i = 0; i < theirs.size(); i++) {
            float[] z = ours.get((long) i);
            assertThat(z).hasSize(theirs.get(i).size());
            for (int j = 0; j < z.length; j++) {
                max = Math.max(max, Math.abs(z[j] - theirs.get(i).get(j).doubleValue()));
            }
        }
        return max;
    }
}
