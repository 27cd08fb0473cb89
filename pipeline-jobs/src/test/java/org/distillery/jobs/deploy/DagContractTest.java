package org.distillery.jobs.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.abort;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.Storage;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetSchema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Airflow DAG's contract with the jar, without Airflow: the DAG file is loaded with recording stand-ins
 * (deploy/airflow/contract), its templates rendered for a date, and every Spark task's command line run through the
 * real CLI, first with --dry-run, then for real on tiny data, in the DAG's order; each summary task then reads the
 * published _SUCCESS marker as its XCom. A flag, path or class that drifts fails here. Also: a retried label task
 * rewrites only its own day, and relabel-only stops before training.
 */
class DagContractTest extends SparkTestBase {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Path DAG = REPO.resolve("deploy/airflow/distillery_dag.py");
    private static final Path LM_DAG = REPO.resolve("deploy/airflow/distillery_lm_dag.py");
    private static final String DS = "2026-11-24";
    private static final String OTHER_DS = "2026-11-23";
    @TempDir
    Path dir;

    @Test
    void everyTaskRunsThroughTheRealCli() throws Exception {
        requirePython();
        String root = dir.resolve("lake").toUri().toString();
        Path lake = dir.resolve("lake");
        // the other day's transfer set is the upstream pipeline's; this day's is ingested by the DAG from a CSV file
        Fixtures.transferSet(spark(), lake.resolve("transfer/dt=" + OTHER_DS).toString(), 400, 61, 0);
        Path raw = csv(lake.resolve("raw/orders-" + DS + ".csv"), 400, 61);
        Fixtures.transferSet(spark(), lake.resolve("reference/validation").toString(), 100, 62, 10_000);
        Fixtures.transferSet(spark(), lake.resolve("reference/test").toString(), 100, 63, 20_000);
        Fixtures.saveZip(spark(), Fixtures.teacher(7, 30), lake.resolve("teacher.zip").toString());
        Path conf = dir.resolve("pipeline.conf");
        Files.writeString(conf, "train { arch = \"mlp:8\", epochs = 2, patience = 2, batch-size = 16,"
                + " averaging-frequency = 3 }\nevaluate { latency-runs = 3 }\n");
        List<String> params = List.of("--param", "root=" + root, "--param", "config=" + conf,
                "--param", "teacher=" + lake.resolve("teacher.zip"), "--param", "jar=/opt/distillery/distillery.jar",
                "--param", "ingest_source=" + raw.toString().replace(DS, "<ds>"), "--param", "ingest_format=csv",
                "--param", "ingest_options=header=true,inferSchema=true", "--param", "ingest_id=order",
                "--param", "ingest_label=y", "--param", "ingest_classes=c0,c1,c2,c3",
                "--param", "ingest_features_prefix=f");
        // this day also widens its transfer set before labelling and trains two mutual peers beside the student
        List<String> day = new ArrayList<>(params);
        day.addAll(List.of("--param", "augment=true", "--param", "augment_transforms=noise=0.05", "--param",
                "augment_copies=2", "--param", "mutual=true"));

        JsonNode dag = render(DS, day);
        assertThat(dag.get("dag_id").asText()).isEqualTo("distillery");
        List<String> order = new ArrayList<>();
        dag.get("tasks").forEach(t -> order.add(t.get("task_id").asText()));
        assertThat(order).containsSubsequence("ingest_requested", "ingest", "summary_ingest", "wait_for_transfer",
                "augment_requested", "augment", "summary_augment", "label", "summary_label", "continue_to_training",
                "train_student", "train_mutual", "summary_train_mutual", "evaluate", "summary_evaluate", "export",
                "summary_export");

        // the other day's partition, published first, must survive this day's runs and retries untouched
        JsonNode otherLabel = task(render(OTHER_DS, params), "label");
        assertThat(CliRun.of(args(otherLabel)).code()).isZero();
        String otherId = manifestId(lake.resolve("soft-targets/dt=" + OTHER_DS));

        runTasks(DAG, dag, day);
        Manifest ingested = Storage.of(spark()).publishedManifest(lake.resolve("transfer/dt=" + DS).toString());
        assertThat(ingested.job()).isEqualTo("ingest");
        assertThat(org.distillery.model.schema.TransferSchema.classNames(ingested)).containsExactly("c0", "c1", "c2",
                "c3");
        JsonNode report = new ObjectMapper().readTree(lake.resolve("evaluations/dt=" + DS + "/report.json").toFile());
        assertThat(report.get("models").fieldNames()).toIterable().containsExactlyInAnyOrder("teacher", "student", "baseline");
        // the last task published the student as ONNX with its card, whose test metrics are the day's evaluation's
        JsonNode card = new ObjectMapper().readTree(lake.resolve("exports/dt=" + DS + "/kd/card.json").toFile());
        assertThat(card.path("testMetrics").path("student").path("accuracy").asDouble())
                .isEqualTo(report.path("models").path("student").path("accuracy").asDouble());
        assertThat(lake.resolve("exports/dt=" + DS + "/kd/model-int8.onnx")).exists();
        // the teacher labelled the day's 400 rows and 2 copies of each; the peers are published under mutual/
        Manifest soft = Storage.of(spark()).publishedManifest(lake.resolve("soft-targets/dt=" + DS).toString());
        assertThat(soft.number("rows")).isEqualTo(1200.0);
        assertThat(soft.inputs().get("transfer").path()).contains("augmented/dt=" + DS);
        assertThat(Storage.of(spark()).publishedManifest(lake.resolve("students/dt=" + DS + "/mutual/student-2")
                .toString()).job()).isEqualTo("train");

        // an Airflow retry of label: same command line, same rows, and only its own day is rewritten
        String contentHash = fact(lake.resolve("soft-targets/dt=" + DS), "contentHash");
        CliRun retry = CliRun.of(args(task(dag, "label")));
        assertThat(retry.code()).as(retry.err()).isZero();
        assertThat(fact(lake.resolve("soft-targets/dt=" + DS), "contentHash")).isEqualTo(contentHash);
        assertThat(manifestId(lake.resolve("soft-targets/dt=" + OTHER_DS))).isEqualTo(otherId);
        // a retried train task resumes from its checkpoints (the trial is finished: nothing is retrained)
        String student = lake.resolve("students/dt=" + DS + "/kd").toString();
        var before = org.distillery.jobs.common.ModelArtifact.read(Storage.of(spark()), student).network().params();
        CliRun trainRetry = CliRun.of(args(task(dag, "train_student")));
        assertThat(trainRetry.code()).as(trainRetry.err()).isZero();
        assertThat(org.distillery.jobs.common.ModelArtifact.read(Storage.of(spark()), student).network().params())
                .isEqualTo(before);

        List<String> relabel = new ArrayList<>(day);
        relabel.addAll(List.of("--param", "relabel_only=true"));
        assertThat(call(DS, relabel, "continue_to_training").get("return_value").asBoolean()).isFalse();
    }

    /**
     * The LM DAG the same way, on a small corpus: ingest --format text, a teacher LM trained that day, top-4 fp16
     * token soft targets, a kd student, the LM evaluation; each summary is the published output's.
     */
    @Test
    void theLmDagRunsThroughTheRealCli() throws Exception {
        requirePython();
        Path lake = dir.resolve("lake");
        Path corpus = Fixtures.textCorpus(dir.resolve("raw-" + DS));
        Path conf = dir.resolve("pipeline-lm.conf");
        Files.writeString(conf, "ingest { window = 16, burn-in = 4, split = \"validation=0.15,test=0.15\" }\n"
                + "train { epochs = 2, batch-size = 16, averaging-frequency = 4, learning-rate = 0.02 }\n"
                + "evaluate { latency-runs = 10, samples = 1, sample-tokens = 16 }\n");
        List<String> params = List.of("--param", "root=" + lake.toUri(), "--param", "config=" + conf,
                "--param", "ingest_source=" + corpus.toString().replace(DS, "<ds>"), "--param", "train_teacher=true",
                "--param", "top_k=4", "--param", "precision=fp16", "--param", "teacher_embedding=8",
                "--param", "teacher_hidden=32", "--param", "teacher_layers=1", "--param", "student_embedding=8",
                "--param", "student_hidden=16", "--param", "student_layers=1");

        JsonNode dag = render(LM_DAG, DS, params);
        assertThat(dag.get("dag_id").asText()).isEqualTo("distillery_lm");
        runTasks(LM_DAG, dag, params);
        Path lm = lake.resolve("lm");
        Manifest soft = Storage.of(spark()).publishedManifest(lm.resolve("soft-targets/dt=" + DS).toString());
        assertThat(soft.number(SoftTargetSchema.TOP_K)).isEqualTo(4.0);
        assertThat(soft.text(SoftTargetSchema.PRECISION)).isEqualTo("fp16");
        JsonNode report = new ObjectMapper().readTree(lm.resolve("evaluations/dt=" + DS + "/report.json").toFile());
        assertThat(report.get("models").fieldNames()).toIterable().containsExactlyInAnyOrder("teacher", "student");
        assertThat(report.path("models").path("student").path("bits_per_char").asDouble()).isPositive();

        // a retried label task keeps the day's rows; without train_teacher, label takes the given teacher
        String contentHash = fact(lm.resolve("soft-targets/dt=" + DS), "contentHash");
        CliRun retry = CliRun.of(args(task(dag, "label")));
        assertThat(retry.code()).as(retry.err()).isZero();
        assertThat(fact(lm.resolve("soft-targets/dt=" + DS), "contentHash")).isEqualTo(contentHash);
        List<String> given = new ArrayList<>(params);
        given.subList(given.indexOf("train_teacher=true") - 1, given.indexOf("train_teacher=true") + 1).clear();
        given.addAll(List.of("--param", "teacher=" + lm.resolve("teachers/dt=" + DS)));
        assertThat(call(LM_DAG, DS, given, "teacher_requested").get("return_value").asBoolean()).isFalse();
        List<String> label = new ArrayList<>(args(task(render(LM_DAG, DS, given), "label")));
        label.add("--dry-run");
        CliRun plan = CliRun.of(label);
        assertThat(plan.code()).as(plan.err()).isZero();
    }

    /** A day's raw table: order (string id), y (class index), f0..f15, the rows of {@link Fixtures#transferSet}. */
    private static Path csv(Path file, int n, long seed) throws IOException {
        int[] y = Fixtures.labels(n, seed);
        float[][] x = Fixtures.features(n, y, seed + 1);
        StringBuilder sb = new StringBuilder("order,y");
        for (int j = 0; j < Fixtures.FEATURES; j++) {
            sb.append(",f").append(j);
        }
        sb.append('\n');
        for (int i = 0; i < n; i++) {
            sb.append("o-").append(i).append(',').append(y[i]);
            for (float v : x[i]) {
                sb.append(',').append(v);
            }
            sb.append('\n');
        }
        Files.createDirectories(file.getParent());
        Files.writeString(file, sb);
        return file;
    }

    @Test
    void pythonSideOfTheContract() throws Exception {
        requirePython();
        ProcessBuilder pb = new ProcessBuilder("python3", "-m", "unittest", "-q")
                .directory(REPO.resolve("deploy/airflow/contract").toFile()).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("DISTILLERY_"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).containsPattern("Ran [1-9][0-9]* tests").contains("OK");
    }

    @Test
    void theShippedPipelineConfigsHaveOnlyKnownKeys() {
        for (String file : List.of("pipeline.conf", "pipeline-lm.conf")) {
            CliRun r = CliRun.of("config", "--print", "--config", REPO.resolve("deploy/conf/" + file).toString());
            assertThat(r.code()).as(file + ": " + r.err()).isZero();
            assertThat(r.out()).as(file).containsPattern("averaging-frequency = 10 +# file");
        }
    }

    /** Every task of {@code dag} in its order: Spark tasks through the CLI, callables through render_dag.py. */
    private void runTasks(Path file, JsonNode dag, List<String> params) throws Exception {
        for (JsonNode t : dag.get("tasks")) {
            String id = t.get("task_id").asText();
            switch (t.get("kind").asText()) {
                case "SparkSubmitOperator" -> runSparkTask(t);
                case "PythonSensor", "ShortCircuitOperator" ->
                        assertThat(call(file, DS, params, id).get("return_value").asBoolean()).as(id).isTrue();
                case "PythonOperator" -> {
                    JsonNode summary = call(file, DS, params, id).get("return_value");
                    Path out = Path.of(java.net.URI.create(summary.get("path").asText().replace("file:/", "file:///")));
                    assertThat(summary.get("manifest").asText()).as(id).isEqualTo(manifestId(out));
                }
                default -> throw new AssertionError("task kind the contract test does not know: " + t);
            }
        }
    }

    private static void runSparkTask(JsonNode t) {
        String id = t.get("task_id").asText();
        assertThat(t.get("java_class").asText()).as(id).isEqualTo(org.distillery.jobs.cli.Distill.class.getName());
        List<String> args = args(t);
        List<String> dry = new ArrayList<>(args);
        dry.add("--dry-run");
        CliRun plan = CliRun.of(dry);
        assertThat(plan.code()).as(id + " --dry-run: " + plan.err()).isZero();
        assertThat(plan.lastLine()).contains("\"dryRun\":true");
        CliRun run = CliRun.of(args);
        assertThat(run.code()).as(id + ": " + run.err()).isZero();
        assertThat(run.lastLine()).startsWith("{\"job\":\"" + args.get(0) + "\"");
    }

    private static List<String> args(JsonNode task) {
        List<String> args = new ArrayList<>();
        task.get("application_args").forEach(a -> args.add(a.asText()));
        return args;
    }

    private static JsonNode task(JsonNode dag, String id) {
        for (JsonNode t : dag.get("tasks")) {
            if (t.get("task_id").asText().equals(id)) {
                return t;
            }
        }
        throw new AssertionError("no task " + id);
    }

    private String manifestId(Path out) {
        return Storage.of(spark()).publishedManifest(out.toString()).id();
    }

    private String fact(Path out, String key) {
        Manifest m = Storage.of(spark()).publishedManifest(out.toString());
        return m.text(key);
    }

    private static JsonNode render(String ds, List<String> params) throws Exception {
        return render(DAG, ds, params);
    }

    private static JsonNode render(Path file, String ds, List<String> params) throws Exception {
        return python(file, ds, params, null);
    }

    private static JsonNode call(String ds, List<String> params, String taskId) throws Exception {
        return call(DAG, ds, params, taskId);
    }

    private static JsonNode call(Path file, String ds, List<String> params, String taskId) throws Exception {
        return python(file, ds, params, taskId);
    }

    private static JsonNode python(Path file, String ds, List<String> params, String callTask) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("python3",
                REPO.resolve("deploy/airflow/contract/render_dag.py").toString(), "--dag", file.toString(), "--ds", ds));
        cmd.addAll(params);
        if (callTask != null) {
            cmd.addAll(List.of("--call", callTask));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.PIPE);
        pb.environment().keySet().removeIf(k -> k.startsWith("DISTILLERY_"));
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(String.join(" ", cmd) + "\n" + err).isZero();
        return new ObjectMapper().readTree(out);
    }

    /** python3 with jinja2, jsonschema and pyarrow: skipped without them, except in CI, where it must run. */
    private static void requirePython() throws InterruptedException {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import jinja2, jsonschema, pyarrow").start();
            if (p.waitFor() == 0) {
                return;
            }
        } catch (IOException e) {
            // no python3
        }
        if ("true".equals(System.getenv("CI"))) {
            throw new AssertionError("CI needs python3 with deploy/airflow/contract/requirements.txt");
        }
        abort("python3 with jinja2, jsonschema and pyarrow is needed (pip install -r deploy/airflow/contract/requirements.txt)");
    }
}
