package org.distillery.jobs.export;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.evaluate.EvaluateConfig;
import org.distillery.jobs.evaluate.EvaluateJob;
import org.distillery.model.nn.LogitFunction;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Exported students against DL4J, for each architecture we train (an MLP and a LeNet-style CNN): ONNX Runtime in Java
 * and in Python give DL4J's logits within {@link Verification}'s fp32 tolerance (1e-4 of the row's scale) on held-out
 * rows, in batches of any size; the int8 graph keeps DL4J's argmax on at least 99% of them; the graph says its
 * interface and preprocessing in its metadata; evaluate scores both files beside the DL4J model; the card chains to the
 * manifests.
 */
class ExportJobTest extends SparkTestBase {
    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"mlp:32, 16", "'cnn:4,6:16', 256"})
    void exportsMatchDl4jInJavaAndPython(String arch, int width) throws Exception {
        Storage storage = Storage.of(spark());
        String transfer = ExportFixtures.transfer(spark(), dir.resolve("transfer").toString(), 600, 21, width);
        MultiLayerNetwork net = ExportFixtures.student(arch, width, 40);
        String model = ExportFixtures.publishModel(storage, net, dir.resolve("model").toString(), transfer, arch);
        JobResult r = new ExportJob(spark()).run(new ExportConfig(model, dir.resolve("export").toString())
                .withInt8(transfer));
        assertThat(r.summaryJson()).startsWith("{\"job\":\"export\"");

        int[] labels = Fixtures.labels(500, 77);
        float[][] test = ExportFixtures.features(500, labels, 78, width);
        INDArray x = ExportFixtures.matrix(test);
        float[][] dl4j = Verification.logits(new LogitModel(net), x);
        Path fp32 = dir.resolve("export/model.onnx");
        Path int8 = dir.resolve("export/model-int8.onnx");
        LogitFunction onnx = Models.teacher(Files.readAllBytes(fp32), fp32.toString());
        Verification java = Verification.compare(dl4j, Verification.logits(onnx, x));
        System.out.printf("%s fp32, ONNX Runtime Java vs DL4J on %d rows: max |diff| %.3g, max relative %.3g%n", arch,
                java.rows(), java.maxAbsDiff(), java.maxRelDiff());
        assertThat(java.maxRelDiff()).as(arch + " fp32, Java").isLessThanOrEqualTo(Verification.FP32_RELATIVE);
        assertThat(java.agreement()).isEqualTo(1.0);
        // the batch axis is dynamic: one row at a time gives the same logits as the whole batch
        float[][] single = Verification.logits(onnx, x.getRow(3, true));
        assertThat(single[0]).containsExactly(Verification.logits(onnx, x)[3],
                org.assertj.core.api.Assertions.within(1e-6f));

        LogitFunction quantized = Models.teacher(Files.readAllBytes(int8), int8.toString());
        Verification q = Verification.compare(dl4j, Verification.logits(quantized, x));
        System.out.printf("%s int8, ONNX Runtime Java vs DL4J: argmax agreement %.4f, max |diff| %.3g%n", arch,
                q.agreement(), q.maxAbsDiff());
        assertThat(q.agreement()).as(arch + " int8 argmax agreement").isGreaterThanOrEqualTo(0.99);
        assertThat(q.maxAbsDiff()).as("int8 does change the logits").isPositive();

        JsonNode py = ExportFixtures.python(fp32, test, dl4j, dir);
        System.out.printf("%s fp32, Python onnxruntime %s vs DL4J: max |diff| %.3g, max relative %.3g%n", arch,
                py.get("onnxruntime").asText(), py.get("maxAbsDiff").asDouble(), py.get("maxRelDiff").asDouble());
        assertThat(py.get("maxRelDiff").asDouble()).as(arch + " fp32, Python")
                .isLessThanOrEqualTo(Verification.FP32_RELATIVE);
        assertThat(py.get("irVersion").asInt()).isEqualTo(OnnxWriter.IR_VERSION);
        assertThat(py.get("opsets").get("ai.onnx").asInt()).isEqualTo(OnnxWriter.OPSET);
        assertThat(py.get("input").toString()).isEqualTo("[\"features\",[\"batch\",\"" + width + "\"]]");
        assertThat(py.get("output").toString()).isEqualTo("[\"logits\",[\"batch\",\"4\"]]");
        assertThat(py.get("metadata").get("distillery.example_shape").asText())
                .isEqualTo(width == 16 ? "[16]" : "[1, 16, 16]");
        assertThat(py.get("metadata").get("distillery.preprocessing").asText()).startsWith("fixture");
        JsonNode pyInt8 = ExportFixtures.python(int8, test, dl4j, dir);
        System.out.printf("%s int8, Python onnxruntime vs DL4J: argmax agreement %.4f%n", arch,
                pyInt8.get("argmaxAgreement").asDouble());
        assertThat(pyInt8.get("argmaxAgreement").asDouble()).isGreaterThanOrEqualTo(0.99);
        assertThat(pyInt8.get("metadata").get("distillery.quantization").asText()).startsWith("int8 QDQ");

        try (OrtSession s = OrtEnvironment.getEnvironment().createSession(fp32.toString())) {
            assertThat(s.getInputNames()).containsExactly("features");
            assertThat(s.getOutputNames()).containsExactly("logits");
            assertThat(s.getMetadata().getCustomMetadata()).containsEntry("distillery.source_sha256",
                    Models.sha256(Files.readAllBytes(dir.resolve("model/model.zip"))));
        }
        Manifest m = storage.publishedManifest(r.path());
        assertThat(m.inputs().get("model").manifestId()).isEqualTo(storage.publishedManifest(model).id());
        assertThat(m.inputs().get("calibration").manifestId()).isEqualTo(storage.publishedManifest(transfer).id());
        assertThat(((Number) m.facts().get("parameters")).longValue()).isEqualTo(net.numParams());
        assertThat(m.facts().get("quantization").toString()).contains("calibrationRows=600");
    }

    @Test
    void evaluateScoresTheExportsBesideTheModelAndTheCardTakesItsMetrics() throws Exception {
        Storage storage = Storage.of(spark());
        String transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 300, 31, 0);
        String test = Fixtures.transferSet(spark(), dir.resolve("test").toString(), 200, 32, 10_000);
        MultiLayerNetwork net = ExportFixtures.student("mlp:32", Fixtures.FEATURES, 40);
        String model = ExportFixtures.publishModel(storage, net, dir.resolve("model").toString(), transfer, "mlp:32");
        Fixtures.saveZip(spark(), Fixtures.teacher(7, 30), dir.resolve("teacher.zip").toString());
        ExportConfig export = new ExportConfig(model, dir.resolve("export").toString()).withInt8(transfer);
        String out = new ExportJob(spark()).run(export).path();

        Map<String, String> models = new LinkedHashMap<>();
        models.put("dl4j", model);
        models.put("onnx", out);
        models.put("onnx_int8", out + "/" + ExportJob.INT8_FILE);
        EvaluateJob.Result eval = new EvaluateJob(spark()).run(new EvaluateConfig(test,
                dir.resolve("teacher.zip").toString(), models, dir.resolve("evaluation").toString(), 5));
        Map<String, Object> dl4j = eval.models().get("dl4j");
        Map<String, Object> onnx = eval.models().get("onnx");
        Map<String, Object> int8 = eval.models().get("onnx_int8");
        assertThat(onnx.get("format")).isEqualTo("ONNX");
        assertThat(onnx.get("params")).isEqualTo(dl4j.get("params")).isEqualTo(int8.get("params"));
        assertThat(onnx.get("model_bytes")).isEqualTo(Files.size(dir.resolve("export/model.onnx")));
        assertThat(int8.get("model_bytes")).isEqualTo(Files.size(dir.resolve("export/model-int8.onnx")));
        assertThat((double) onnx.get("accuracy")).isEqualTo((double) dl4j.get("accuracy"));
        assertThat((double) int8.get("accuracy")).isCloseTo((double) dl4j.get("accuracy"),
                org.assertj.core.api.Assertions.within(0.01));
        assertThat(eval.table()).contains("onnx_int8");

        // exporting again gives the same bytes, so the evaluation's entries for the files are the card's metrics
        String again = new ExportJob(spark()).run(new ExportConfig(model, dir.resolve("export2").toString())
                .withInt8(transfer).withEvaluation(dir.resolve("evaluation").toString())).path();
        assertThat(Files.readAllBytes(dir.resolve("export2/model-int8.onnx")))
                .isEqualTo(Files.readAllBytes(dir.resolve("export/model-int8.onnx")));
        JsonNode card = Manifest.mapper().readTree(Files.readString(dir.resolve("export2/card.json")));
        assertThat(card.path("testMetrics").path("dl4j").path("file").asText()).isEqualTo("source model.zip");
        assertThat(card.path("testMetrics").path("onnx").path("file").asText()).isEqualTo("model.onnx");
        assertThat(card.path("testMetrics").path("onnx_int8").path("accuracy").asDouble())
                .isEqualTo((double) int8.get("accuracy"));
        assertThat(card.path("provenance").path("objective").asText()).isEqualTo("hard");
        List<String> via = card.path("manifestChain").findValuesAsText("via");
        assertThat(via).containsExactly("model", "model > transfer");
        assertThat(card.path("calibration").path("rows").asInt()).isEqualTo(300);
        assertThat(Files.readString(dir.resolve("export2/card.md"))).startsWith("# Model card: model")
                .contains("| model-int8.onnx |").contains("model > transfer");
        assertThat(storage.publishedManifest(again).inputs().get("evaluation").manifestId())
                .isEqualTo(eval.job().manifestId());
    }
}
