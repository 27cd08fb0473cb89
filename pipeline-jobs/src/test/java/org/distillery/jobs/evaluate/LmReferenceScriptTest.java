package org.distillery.jobs.evaluate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.PythonScript;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.Storage;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TextTransferSchema;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PyTorch reference, {@code docs/scripts/lm_reference_torch.py}, on a real chain's Parquet: the text fixture
 * ingested, a teacher LM trained, the training split labelled top-4 in fp16 (the script trains a kd student from it)
 * and the test split labelled with every logit in fp32; {@code evaluate} scores the teacher on the test split. Where
 * the script and our jobs compute the same thing from the same numbers, they agree: the teacher's bits/char from its
 * stored logits against label's teacherBitsPerChar (full-precision logits rounded to the stored fp32) and against
 * evaluate's (the teacher run again, batches of another size); its accuracy, ECE and token count against evaluate's;
 * the teacher against its own stored logits agrees everywhere with KL 0. The script's student is its own sample of the
 * recipe (PyTorch, one process), checked to have learned and to repeat itself for a seed. Without python3, torch or
 * pyarrow the test is skipped, except in CI ({@code CI=true}), where it must run.
 */
class LmReferenceScriptTest extends SparkTestBase {
    private static final Path SCRIPT = Path.of("..", "docs", "scripts", "lm_reference_torch.py").toAbsolutePath()
            .normalize();
    /** Stored fp32 logits vs label's nll from the same float logits, both summed in double: rounding of the sums. */
    private static final double SAME_LOGITS = 1e-6;
    /** Against evaluate, which runs the teacher again in batches of another size (float rounding in the LSTM). */
    private static final double TEACHER_RERUN = 1e-4;
    @TempDir
    static Path dir;
    static String text;

    @BeforeAll
    static void chain() throws Exception {
        Fixtures.textCorpus(dir);
        text = dir.resolve("text").toString();
        ok(CliRun.of("ingest", "--format", "text", "--source", dir.resolve("corpus").toString(), "--window", "16",
                "--burn-in", "4", "--split", "validation=0.15,test=0.15", "--seed", "7", "--out", text));
        ok(CliRun.of("train", "--task", "lm", "--objective", "hard", "--transfer", text + "/train", "--validation",
                text + "/validation", "--out", path("teacher"), "--embedding", "8", "--hidden", "32", "--layers", "1",
                "--batch-size", "16", "--averaging-frequency", "4", "--workers", "2", "--learning-rate", "0.02",
                "--epochs", "4", "--local-master", "local[2]"));
        ok(CliRun.of("label", "--transfer", text + "/train", "--teacher", path("teacher"), "-T", "2", "--top-k", "4",
                "--precision", "fp16", "--out", path("soft"), "--local-master", "local[2]"));
        ok(CliRun.of("label", "--transfer", text + "/test", "--teacher", path("teacher"), "-T", "2", "--out",
                path("soft-test"), "--local-master", "local[2]"));
        ok(CliRun.of("evaluate", "--test", text + "/test", "--model", "teacher-as-model=" + path("teacher"),
                "--teacher", path("teacher"), "--out", path("eval"), "--latency-runs", "5", "--samples", "1",
                "--sample-tokens", "8", "--local-master", "local[2]"));
    }

    private static String path(String name) {
        return dir.resolve(name).toString();
    }

    private static void ok(CliRun run) {
        assertThat(run.code()).as(run.err()).isZero();
    }

    private static PythonScript.Run script(String... args) throws IOException, InterruptedException {
        return PythonScript.run(SCRIPT, dir, 5, List.of(args));
    }

    private static List<String> recipe(String seed) {
        return List.of("--soft-targets", path("soft"), "--validation", text + "/validation", "--test", text + "/test",
                "--test-soft-targets", path("soft-test"), "--embedding", "8", "--hidden", "16", "--layers", "1",
                "--batch-size", "16", "--learning-rate", "0.02", "--epochs", "3", "--threads", "2", "--seed", seed);
    }

    @Test
    void theTeachersStoredLogitsScoreAsLabelAndEvaluateScoreThemAndTheStudentLearns() throws Exception {
        PythonScript.Run run = script(recipe("1").toArray(String[]::new));
        assertThat(run.code()).as(run.err()).isZero();
        JsonNode report = Manifest.mapper().readTree(run.out());
        JsonNode teacher = report.path("models").path("teacher");
        JsonNode student = report.path("models").path("student");
        Manifest labelled = Storage.of(spark()).publishedManifest(path("soft-test"));
        double labelBits = labelled.number("teacherBitsPerChar");
        JsonNode evaluated = Manifest.mapper().readTree(Storage.of(spark()).readText(path("eval") + "/report.json"))
                .path("models").path("teacher");
        System.out.printf("teacher bits/char: script (stored logits) %.7f, script (teacher_nll) %.7f, label %.7f,"
                + " evaluate %.7f; student %.4f bits/char (untrained %.4f), top1 %.3f, KL %.4f%n",
                teacher.get("bits_per_char").asDouble(), teacher.get("bits_per_char_exact").asDouble(), labelBits,
                evaluated.get("bits_per_char").asDouble(), student.get("bits_per_char").asDouble(),
                student.get("initial_validation_bits_per_char").asDouble(), student.get("top1_agreement").asDouble(),
                student.get("kl_teacher_student").asDouble());

        assertThat(teacher.get("bits_per_char").asDouble()).isCloseTo(labelBits, within(SAME_LOGITS));
        assertThat(teacher.get("bits_per_char_exact").asDouble()).isCloseTo(labelBits, within(SAME_LOGITS));
        assertThat(teacher.get("bits_per_char").asDouble()).isCloseTo(evaluated.get("bits_per_char").asDouble(),
                within(TEACHER_RERUN));
        assertThat(teacher.get("perplexity").asDouble()).isCloseTo(evaluated.get("perplexity").asDouble(),
                within(TEACHER_RERUN * 10));
        assertThat(teacher.get("accuracy").asDouble()).isCloseTo(evaluated.get("accuracy").asDouble(),
                within(TEACHER_RERUN));
        assertThat(teacher.get("ece").asDouble()).isCloseTo(evaluated.get("ece").asDouble(), within(TEACHER_RERUN));
        assertThat(teacher.get("tokens").asLong()).isEqualTo(evaluated.get("tokens").asLong())
                .isEqualTo((long) labelled.number("scoredTokens"));
        assertThat(teacher.get("top1_agreement").asDouble()).isEqualTo(1.0);
        assertThat(teacher.get("top5_agreement").asDouble()).isEqualTo(1.0);
        assertThat(teacher.get("kl_teacher_student").asDouble()).isCloseTo(0, within(1e-12));

        int v = (int) Storage.of(spark()).publishedManifest(text + "/test").number(TextTransferSchema.VOCABULARY_SIZE);
        assertThat(student.get("tokens").asLong()).isEqualTo(teacher.get("tokens").asLong());
        assertThat(student.get("validation_bits_per_char").asDouble()).as("the student learned")
                .isLessThan(student.get("initial_validation_bits_per_char").asDouble() - 0.5);
        assertThat(student.get("bits_per_char").asDouble()).isLessThan(Math.log(v) / Math.log(2));
        assertThat(student.get("temperature").asDouble()).as("T from the soft targets' manifest").isEqualTo(2.0);
        assertThat(student.get("alpha").asDouble()).isEqualTo(1.0);
        for (String key : List.of("top1_agreement", "top5_agreement", "kl_teacher_student", "perplexity", "ece")) {
            assertThat(student.get(key).isNumber()).as(key).isTrue();
        }
        assertThat(student.get("top5_agreement").asDouble()).isGreaterThanOrEqualTo(
                student.get("top1_agreement").asDouble());

        // a seed is a seed: the same run again gives the same student (same code, same numbers)
        PythonScript.Run again = script(recipe("1").toArray(String[]::new));
        assertThat(Manifest.mapper().readTree(again.out()).path("models").path("student"))
                .isEqualTo(student);
    }

    @Test
    void trainsOnASliceWithTrainsParameterAveragingRunSerially() throws Exception {
        List<String> args = new ArrayList<>(recipe("3"));
        args.addAll(List.of("--windows", "40", "--workers", "2", "--averaging-frequency", "2"));
        PythonScript.Run run = script(args.toArray(String[]::new));
        assertThat(run.code()).as(run.err()).isZero();
        JsonNode report = Manifest.mapper().readTree(run.out());
        JsonNode student = report.path("models").path("student");
        assertThat(student.get("rows").asInt()).isEqualTo(40);
        assertThat(student.get("windows").asInt()).isEqualTo(40);
        assertThat(report.path("recipe").get("workers").asInt()).isEqualTo(2);
        assertThat(report.path("recipe").get("averaging_frequency").asInt()).isEqualTo(2);
        assertThat(student.get("validation_bits_per_char").asDouble()).as("the averaged student learned")
                .isLessThan(student.get("initial_validation_bits_per_char").asDouble());
        PythonScript.Run again = script(args.toArray(String[]::new));
        assertThat(Manifest.mapper().readTree(again.out()).path("models").path("student")).isEqualTo(student);
    }

    @Test
    void refusesASliceOfNoWindowsInOneLine() throws Exception {
        List<String> args = new ArrayList<>(recipe("1"));
        args.addAll(List.of("--windows", "0"));
        PythonScript.Run run = script(args.toArray(String[]::new));
        assertThat(run.code()).isEqualTo(2);
        assertThat(run.err().strip()).isEqualTo("lm_reference_torch.py: error: --windows must be >= 1, got 0");
        assertThat(run.out()).isEmpty();
    }

    @Test
    void refusesTestSoftTargetsOfOtherWindowsInOneLine() throws Exception {
        List<String> args = new ArrayList<>(recipe("1"));
        args.set(args.indexOf(path("soft-test")), path("soft"));
        PythonScript.Run run = script(args.toArray(String[]::new));
        assertThat(run.code()).isEqualTo(2);
        assertThat(run.err().strip()).doesNotContain("\n").startsWith("lm_reference_torch.py: error: ")
                .contains("does not hold the windows of --test");
        assertThat(run.out()).isEmpty();
    }
}
