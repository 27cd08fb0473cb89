package org.distillery.jobs.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.abort;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.ingest.TextFixtures;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code demo --task lm} on a tiny corpus in the Debian corpus's layout: every stage publishes, the report scores the
 * teacher and the four students of one shape, the slice students saw the same windows, the black-box student only
 * the teacher's generated text, a rerun reuses every stage;
 * and notebook 05 runs against that run (one run shared, to keep the test short).
 */
class LmDemoJobTest extends SparkTestBase {
    private static final Path NOTEBOOKS = Path.of("..", "notebooks").toAbsolutePath().normalize();
    private static final int SLICE = 24;

    @TempDir
    static Path dir;
    static DemoJob.Result first;

    static LmDemoConfig config(int sliceWindows) {
        return new LmDemoConfig(dir.resolve("run").toString(), dir.resolve("corpus").toString(),
                TextFixtures.rules(), 16, 4, 5, new LmDemoConfig.Model("lstm:8:32", 2, 1, 16, 0.02),
                new LmDemoConfig.Model("lstm:4:8", 1, 2, 16, 0.02), sliceWindows, 4, 1.0, 0.5, 6, 24, 2, 4);
    }

    @BeforeAll
    static void run() throws IOException {
        TextFixtures.write(dir.resolve("corpus"), 30, 8, 3);
        first = new LmDemoJob(spark()).run(config(SLICE));
    }

    @Test
    void publishesEveryStageScoresEveryModelAndReusesThemOnRerun() throws Exception {
        JsonNode report = Manifest.mapper().readTree(Files.readString(dir.resolve("run/report.json")));
        assertThat(report.path("task").asText()).isEqualTo("lm");
        assertThat(report.path("slice_windows").asInt()).isEqualTo(SLICE);
        JsonNode models = report.path("models");
        List<String> names = List.of("teacher", "baseline", "kd_slice", "kd_corpus", "kd_generated");
        assertThat(models.fieldNames()).toIterable().containsExactlyInAnyOrderElementsOf(names);
        for (String name : names) {
            JsonNode m = models.path(name);
            assertThat(m.path("bits_per_char").asDouble(-1)).as(name).isPositive();
            assertThat(m.path("perplexity").asDouble(-1)).as(name).isGreaterThan(1.0);
            assertThat(m.path("top1_agreement").asDouble(-1)).as(name).isBetween(0.0, 1.0);
            assertThat(m.path("kl_teacher_student").asDouble(-1)).as(name).isGreaterThanOrEqualTo(0.0);
            assertThat(m.path("tokens_per_second").asDouble(-1)).as(name).isPositive();
            assertThat(m.path("samples").size()).as(name).isPositive();
        }
        assertThat(models.path("teacher").path("top1_agreement").asDouble()).isEqualTo(1.0);
        long studentParams = models.path("baseline").path("parameters").asLong();
        assertThat(models.path("kd_slice").path("parameters").asLong()).isEqualTo(studentParams);
        assertThat(models.path("kd_corpus").path("parameters").asLong()).isEqualTo(studentParams);
        assertThat(models.path("kd_generated").path("parameters").asLong()).isEqualTo(studentParams);
        assertThat(models.path("teacher").path("parameters").asLong()).isGreaterThan(studentParams);
        assertThat(first.stageSeconds()).containsKeys("ingest", "teacher", "label", "baseline", "kd_slice",
                "kd_corpus", "generate", "kd_generated", "evaluate");
        assertThat(report.path("stage_seconds").path("teacher").asDouble()).isPositive();

        // the slice students trained on the same windows of real text, the corpus student on every window
        Storage storage = Storage.of(spark());
        Manifest baseline = storage.publishedManifest(dir.resolve("run/students/baseline").toString());
        Manifest kdSlice = storage.publishedManifest(dir.resolve("run/students/kd_slice").toString());
        Manifest kdCorpus = storage.publishedManifest(dir.resolve("run/students/kd_corpus").toString());
        Manifest train = storage.publishedManifest(dir.resolve("run/data/train").toString());
        assertThat((long) baseline.number("rows")).isEqualTo(SLICE).isEqualTo((long) kdSlice.number("rows"));
        assertThat(baseline.number("trainingTokens")).isPositive().isEqualTo(kdSlice.number("trainingTokens"));
        assertThat((long) kdCorpus.number("rows")).isEqualTo((long) train.number("rows")).isGreaterThan(SLICE);
        assertThat(kdSlice.inputs().get("softTargets").manifestId()).isEqualTo(kdCorpus.inputs().get("softTargets")
                .manifestId());
        // the black-box student read only the teacher's sampled text, published with its provenance
        Manifest kdGenerated = storage.publishedManifest(dir.resolve("run/students/kd_generated").toString());
        Manifest generated = storage.publishedManifest(kdGenerated.inputs().get("transfer").path());
        assertThat(generated.job()).isEqualTo("generate");
        assertThat(kdGenerated.inputs()).doesNotContainKey("softTargets");

        DemoJob.Result second = new LmDemoJob(spark()).run(config(SLICE));
        assertThat(second.stageSeconds()).containsEntry("ingest", 0.0).containsEntry("teacher", 0.0)
                .containsEntry("label", 0.0).containsEntry("baseline", 0.0).containsEntry("kd_slice", 0.0)
                .containsEntry("kd_corpus", 0.0).containsEntry("generate", 0.0).containsEntry("kd_generated", 0.0);
        assertThat(storage.publishedManifest(dir.resolve("run/students/kd_slice").toString()).id())
                .isEqualTo(kdSlice.id());
        assertThatThrownBy(() -> new LmDemoJob(spark()).run(config(SLICE + 1)))
                .hasMessageContaining("exists with a different config");
    }

    @Test
    void optionsOfTheOtherDemoAreRefusedInOneLine() {
        Path out = dir.resolve("refused");
        CliRun lm = CliRun.of("demo", "--task", "lm", "--labelled", "5", "--alpha", "1", "--out", out.toString());
        assertThat(lm.code()).isEqualTo(2);
        assertThat(lm.err().strip()).isEqualTo("distill demo: error: --labelled, --alpha do not apply to --task lm");
        CliRun image = CliRun.of("demo", "--slice-windows", "5", "--out", out.toString());
        assertThat(image.code()).isEqualTo(2);
        assertThat(image.err().strip())
                .isEqualTo("distill demo: error: --slice-windows does not apply to the image demo (--task image)");
        CliRun task = CliRun.of("demo", "--task", "text", "--out", out.toString());
        assertThat(task.code()).isEqualTo(2);
        assertThat(task.err().strip()).isEqualTo("distill demo: error: --task must be image or lm, got 'text'");
        assertThat(out).doesNotExist();
    }

    @Test
    void theLanguageModelNotebookRunsAgainstTheRun() throws Exception {
        Path log = dir.resolve("run_all.log");
        Process p;
        try {
            p = new ProcessBuilder("python3", NOTEBOOKS.resolve("run_all.py").toString(),
                    dir.resolve("run").toString(), "--only", "05-*", "--out", dir.resolve("executed").toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        } catch (IOException noPython) {
            if ("true".equals(System.getenv("CI"))) {
                throw noPython;
            }
            abort("python3 is not installed: " + noPython.getMessage());
            return;
        }
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("notebook finished in time").isTrue();
        String output = Files.readString(log, StandardCharsets.UTF_8);
        if (p.exitValue() == 3 && !"true".equals(System.getenv("CI"))) {
            abort("Jupyter is not installed (python3 -m pip install -r notebooks/requirements.txt): " + output.strip());
        }
        assertThat(p.exitValue()).as(output).isZero();
        assertThat(output).contains("ok      05-language-model.ipynb").contains("run_all: 1 passed, 0 failed");
        String executed = Files.readString(dir.resolve("executed/05-language-model.ipynb"), StandardCharsets.UTF_8);
        assertThat(executed.lines().map(String::strip).filter(l -> l.startsWith("\"NOTE: ")).toList())
                .as("every part found its input in a complete run").isEmpty();
        assertThat(executed).contains("token soft targets: top-4 logits")
                .contains("kd_corpus").contains("samples of teacher");
    }
}
