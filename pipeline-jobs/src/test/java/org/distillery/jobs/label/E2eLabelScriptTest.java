package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.PythonScript;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.TeacherFiles;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The label benchmark's Python anchor, {@code docs/scripts/bench_label_e2e_torch.py}, against the label job on the
 * same transfer rows: its {@code --check} mode must find the same ids and labels, the same {@code input_hash}
 * ({@code InputHash}, recomputed with python-xxhash) for every row, and logits and soft targets within 1e-4. The rows
 * include what the benchmark's synthetic pixels lack: null labels, -0.0 and negative features. A row of the wrong
 * width is refused with one line and exit 2, nothing written. Without python3 or the script's packages the test is
 * skipped, except in CI ({@code CI=true}).
 */
class E2eLabelScriptTest extends SparkTestBase {
    private static final Path SCRIPT = Path.of("..", "docs", "scripts", "bench_label_e2e_torch.py").toAbsolutePath()
            .normalize();
    @TempDir
    static Path dir;
    static String transfer;
    static Path onnx;

    @BeforeAll
    static void fixtures() throws Exception {
        int n = 150;
        int[] y = Fixtures.labels(n, 5);
        float[][] x = Fixtures.features(n, y, 6);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (i % 7 == 1) {
                x[i][i % Fixtures.FEATURES] = -0f;
                x[i][(i + 3) % Fixtures.FEATURES] = -0.75f;
            }
            rows.add(RowFactory.create((long) i * 3 - 40, x[i], i % 5 == 0 ? null : y[i]));
        }
        transfer = Fixtures.publishTransfer(spark(), dir.resolve("transfer").toString(), rows, Fixtures.FEATURES);
        MultiLayerNetwork teacher = Fixtures.teacher(7, 5);
        String zip = Fixtures.saveZip(spark(), teacher, dir.resolve("teacher.zip").toString());
        onnx = TeacherFiles.write(teacher, false, dir.resolve("onnx")).resolve("teacher.onnx");
        new LabelJob(spark()).run(LabelConfig.builder(transfer, dir.resolve("soft").toString()).teacher(zip)
                .temperature(2).batchSize(64).build());
    }

    private static PythonScript.Run script(String... args) throws IOException, InterruptedException {
        return PythonScript.run(SCRIPT, dir, 5, List.of(args));
    }

    @Test
    void theScriptsHashesAndLogitsMatchTheLabelJobs() throws Exception {
        PythonScript.Run run = script(transfer, onnx.toString(), dir.resolve("python-out").toString(), "--temperature", "2",
                "--check", dir.resolve("soft").toString());
        assertThat(run.code()).as(run.err()).isZero();
        String[] lines = run.out().strip().split("\n");
        JsonNode timing = Manifest.mapper().readTree(lines[0]);
        JsonNode check = Manifest.mapper().readTree(lines[1]);
        assertThat(timing.get("rows").asLong()).isEqualTo(150);
        assertThat(check.get("check").asText()).isEqualTo("ok");
        assertThat(check.get("rows").asLong()).isEqualTo(150);
        assertThat(check.get("inputHashMismatches").asLong()).isZero();
        assertThat(check.get("maxAbsLogitDiff").asDouble()).isLessThanOrEqualTo(1e-4);
        assertThat(check.get("maxAbsSoftDiff").asDouble()).isLessThanOrEqualTo(1e-4);
        assertThat(check.get("columns").toString()).isEqualTo("[\"id\",\"label\",\"logits\",\"soft\",\"input_hash\"]");
        assertThat(check.get("codecs").toString()).isEqualTo("[\"SNAPPY\"]");
    }

    @Test
    void aRowOfTheWrongWidthIsRefusedWithOneLine() throws Exception {
        List<Row> rows = List.of(RowFactory.create(1L, new float[Fixtures.FEATURES], 0),
                RowFactory.create(2L, new float[Fixtures.FEATURES - 1], 1));
        String narrow = Fixtures.publishTransfer(spark(), dir.resolve("narrow").toString(), rows, Fixtures.FEATURES);
        Path out = dir.resolve("narrow-out");
        PythonScript.Run run = script(narrow, onnx.toString(), out.toString());
        assertThat(run.code()).as(run.out() + run.err()).isEqualTo(2);
        assertThat(run.err().strip()).isEqualTo("id 2 has 15 features, the transfer set's featureCount is 16");
        assertThat(Files.exists(out)).isFalse();
        assertThat(Files.exists(Path.of(out + ".tmp"))).isFalse();
    }
}
