package org.distillery.jobs.evaluate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.train.LmWindows;
import org.distillery.model.nn.LanguageModels;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.text.NextTokenMetrics;
import org.distillery.model.text.TokenAgreement;
import org.distillery.model.text.Windowing;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code evaluate} over a text test split, on the LM chain of {@code LmTrainJobTest} (the text fixture ingested, a
 * teacher LM trained, {@code label} top-4 at T = 2, a kd student from those soft targets, a hard student from the
 * text): the report's metrics equal an independent computation on the driver, the teacher against itself agrees
 * everywhere with KL ~ 0, a hard student alone has no teacher ("-"), and bad input is refused in one line, exit 2,
 * nothing published.
 */
class LmEvaluateJobTest extends SparkTestBase {
    /** Bits/char and ECE: the same accumulator over the same batches; agreement and KL: batches of another size. */
    private static final double SAME_BATCHES = 1e-9;
    private static final double OTHER_BATCHES = 1e-4;
    @TempDir
    static Path dir;
    static String text;

    @BeforeAll
    static void chain() throws Exception {
        Fixtures.textCorpus(dir);
        text = dir.resolve("text").toString();
        ok(CliRun.of("ingest", "--format", "text", "--source", dir.resolve("corpus").toString(), "--window", "16",
                "--burn-in", "4", "--split", "validation=0.15,test=0.15", "--seed", "7", "--out", text));
        ok(CliRun.of(train("teacher", "hard", text + "/train", "32")));
        ok(CliRun.of("label", "--transfer", text + "/train", "--teacher", path("teacher"), "-T", "2", "--top-k", "4",
                "--out", path("soft"), "--local-master", "local[2]"));
        List<String> kd = train("kd", "kd", path("soft"), "16");
        kd.set(kd.indexOf("--transfer"), "--soft-targets");
        kd.addAll(List.of("--alpha", "0.5"));
        ok(CliRun.of(kd));
        ok(CliRun.of(train("hard", "hard", text + "/train", "16")));
    }

    private static List<String> train(String out, String objective, String data, String hidden) {
        return new ArrayList<>(List.of("train", "--task", "lm", "--objective", objective, "--transfer", data,
                "--validation", text + "/validation", "--out", path(out), "--embedding", "8", "--hidden", hidden,
                "--layers", "1", "--batch-size", "16", "--averaging-frequency", "4", "--workers", "2",
                "--learning-rate", "0.02", "--epochs", "4", "--local-master", "local[2]"));
    }

    private static String path(String name) {
        return dir.resolve(name).toString();
    }

    private static void ok(CliRun run) {
        assertThat(run.code()).as(run.err()).isZero();
    }

    private static CliRun evaluate(String out, String... more) {
        List<String> a = new ArrayList<>(List.of("evaluate", "--test", text + "/test", "--out", path(out),
                "--latency-runs", "20", "--samples", "2", "--sample-tokens", "24", "--local-master", "local[2]"));
        a.addAll(List.of(more));
        return CliRun.of(a);
    }

    private static JsonNode report(String out) throws Exception {
        return Manifest.mapper().readTree(Storage.of(spark()).readText(path(out) + "/report.json")).path("models");
    }

    private static List<Windowing.Window> testWindows() {
        int v = (int) Storage.of(spark()).publishedManifest(text + "/test").number(TextTransferSchema.VOCABULARY_SIZE);
        return LmWindows.collect(TransferTables.readPublished(spark(), text + "/test"), v, 16);
    }

    private static MultiLayerNetwork net(String name) {
        return ModelArtifact.read(Storage.of(spark()), path(name)).network();
    }

    @Test
    void scoresTheTeacherAndStudentsAsAnIndependentDriverComputationDoes() throws Exception {
        CliRun run = evaluate("eval", "--model", "kd=" + path("kd") + ",hard=" + path("hard"));
        ok(run);
        System.out.print(run.out());
        JsonNode models = report("eval");
        // the teacher: the one kd's soft targets name (report.json orders keys)
        assertThat(models.fieldNames()).toIterable().containsExactlyInAnyOrder("teacher", "kd", "hard");
        List<Windowing.Window> windows = testWindows();
        for (String name : List.of("teacher", "kd", "hard")) {
            JsonNode m = models.get(name);
            NextTokenMetrics expected = LmWindows.score(net(name), windows);
            assertThat(m.get("bits_per_char").asDouble()).as(name).isCloseTo(expected.bitsPerChar(),
                    within(SAME_BATCHES));
            assertThat(m.get("perplexity").asDouble()).isCloseTo(Math.pow(2, expected.bitsPerChar()), within(1e-6));
            assertThat(m.get("ece").asDouble()).isCloseTo(expected.ece(), within(SAME_BATCHES));
            assertThat(m.get("tokens").asLong()).isEqualTo(expected.tokens());
            TokenAgreement a = agreement(net("teacher"), net(name), windows);
            assertThat(m.get("top1_agreement").asDouble()).isCloseTo(a.top1(), within(OTHER_BATCHES));
            assertThat(m.get("top5_agreement").asDouble()).isCloseTo(a.top5(), within(OTHER_BATCHES));
            assertThat(m.get("kl_teacher_student").asDouble()).isCloseTo(a.meanKl(), within(OTHER_BATCHES));
            assertThat(m.get("parameters").asLong()).isEqualTo(net(name).numParams());
            assertThat(m.get("bytes").asLong()).isEqualTo(Files.size(dir.resolve(name).resolve("model.zip")));
            assertThat(m.get("latency_ms_per_token").asDouble()).isPositive();
            assertThat(m.get("latency_ms_per_token_repetitions")).hasSize(LmTiming.REPETITIONS);
            assertThat(m.get("tokens_per_second").asDouble()).isPositive();
            assertThat(m.get("samples")).hasSize(2);
            System.out.printf("%s: %.4f bits/char (driver %.4f), top1 %.4f, KL %.4f%n", name,
                    m.get("bits_per_char").asDouble(), expected.bitsPerChar(), a.top1(), a.meanKl());
        }
        JsonNode teacher = models.get("teacher");
        assertThat(teacher.get("top1_agreement").asDouble()).isEqualTo(1.0);
        assertThat(teacher.get("top5_agreement").asDouble()).isEqualTo(1.0);
        assertThat(teacher.get("kl_teacher_student").asDouble()).isCloseTo(0, within(1e-6));
        assertThat(models.get("kd").get("objective").asText()).isEqualTo("kd");

        // seeded: the same samples again, and one evaluate's manifest chains to the test split and every model
        ok(evaluate("again", "--model", "kd=" + path("kd") + ",hard=" + path("hard")));
        assertThat(report("again").get("kd").get("samples")).isEqualTo(models.get("kd").get("samples"));
        Manifest m = Storage.of(spark()).publishedManifest(path("eval"));
        assertThat(m.inputs()).containsKeys("test", "teacher", "kd", "hard");
        assertThat(m.facts()).containsEntry("task", "lm");
        assertThat(run.out()).contains("bits/char", "top5", "ms/token", "samples (T = 0.8");
    }

    @Test
    void aHardStudentWithoutATeacherHasNoAgreementOrKl() throws Exception {
        CliRun run = evaluate("hard-only", "--model", "hard=" + path("hard"));
        ok(run);
        JsonNode hard = report("hard-only").get("hard");
        assertThat(report("hard-only").fieldNames()).toIterable().containsExactly("hard");
        assertThat(hard.get("top1_agreement").isNull()).isTrue();
        assertThat(hard.get("kl_teacher_student").isNull()).isTrue();
        String row = run.out().lines().filter(l -> l.startsWith("hard ")).findFirst().orElseThrow();
        assertThat(row.trim().split("\\s+")).containsSubsequence("-", "-", "-");

        CliRun plan = evaluate("dry", "--model", "hard=" + path("hard"), "--dry-run");
        ok(plan);
        assertThat(plan.out()).contains("none: agreement and KL not measured", "text windows");
        assertThat(dir.resolve("dry")).doesNotExist();

        // kd's soft targets pin their teacher: --teacher may name it, and another LM is refused
        ok(evaluate("kd-teacher", "--model", "kd=" + path("kd"), "--teacher", path("teacher")));
        assertThat(report("kd-teacher").get("teacher").get("kl_teacher_student").asDouble()).isCloseTo(0, within(1e-6));
        CliRun other = evaluate("kd-other", "--model", "kd=" + path("kd"), "--teacher", path("hard"));
        assertThat(other.code()).as(other.err()).isEqualTo(2);
        assertThat(other.err().strip()).startsWith("distill evaluate: error: --teacher ")
                .contains("is not the teacher kd was distilled from");
        assertThat(dir.resolve("kd-other")).doesNotExist();

        // with --teacher the hard student is compared with it (no soft targets pin another)
        ok(evaluate("hard-teacher", "--model", "hard=" + path("hard"), "--teacher", path("teacher")));
        assertThat(report("hard-teacher").get("hard").get("top1_agreement").asDouble()).isBetween(0.0, 1.0);
    }

    @Test
    void refusesModelsOfTheOtherKindOrVocabularyInOneLineAndPublishesNothing() throws Exception {
        String classifier = Fixtures.saveZip(spark(), Fixtures.teacher(1, 1), path("classifier.zip"));
        assertRefused(evaluate("bad-classifier", "--model", "c=" + classifier), "bad-classifier",
                "model c is not a language model (its first layer is a DenseLayer, not an embedding of token ids): "
                        + ModelArtifact.read(Storage.of(spark()), classifier).path() + "; the test split is text");

        String vectors = Fixtures.transferSet(spark(), path("vectors"), 64, 3, 0);
        CliRun reverse = CliRun.of("evaluate", "--test", vectors, "--teacher", classifier, "--model",
                "hard=" + path("hard"), "--out", path("bad-reverse"));
        assertRefused(reverse, "bad-reverse", "model hard is a language model: "
                + ModelArtifact.read(Storage.of(spark()), path("hard")).path() + "; score it on a text test split"
                + " (ingest --format text), not on " + vectors);

        // another corpus, other characters: another vocabulary
        Path other = dir.resolve("other");
        Files.createDirectories(other.resolve("corpus"));
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 60; i++) {
            lines.append("ZYXWVUTSRQ 0123456789 ZYXWVUTSRQ ".substring(i % 10)).append('\n');
        }
        Files.writeString(other.resolve("corpus").resolve("x.txt"), lines.toString());
        ok(CliRun.of("ingest", "--format", "text", "--source", other.resolve("corpus").toString(), "--window", "16",
                "--burn-in", "4", "--split", "validation=0.2,test=0.2", "--seed", "7", "--out",
                other.resolve("text").toString()));
        Manifest otherTest = Storage.of(spark()).publishedManifest(other.resolve("text/test").toString());
        Manifest hard = Storage.of(spark()).publishedManifest(path("hard"));
        CliRun vocabulary = CliRun.of("evaluate", "--test", other.resolve("text/test").toString(), "--model",
                "hard=" + path("hard"), "--out", path("bad-vocabulary"));
        assertRefused(vocabulary, "bad-vocabulary", "model hard was trained on vocabulary "
                + hard.text(TextTransferSchema.VOCABULARY_SHA256) + " ("
                + (int) hard.number(TextTransferSchema.VOCABULARY_SIZE) + " ids), but the test split's is "
                + otherTest.text(TextTransferSchema.VOCABULARY_SHA256) + " ("
                + (int) otherTest.number(TextTransferSchema.VOCABULARY_SIZE) + " ids): "
                + ModelArtifact.read(Storage.of(spark()), path("hard")).path());
    }

    private static void assertRefused(CliRun run, String out, String message) {
        assertThat(run.code()).as(run.err()).isEqualTo(2);
        assertThat(run.err().strip()).isEqualTo("distill evaluate: error: " + message);
        assertThat(dir.resolve(out)).doesNotExist();
    }

    /** Agreement and KL window by window (batches of one), independently of the job's batches of 64. */
    private static TokenAgreement agreement(MultiLayerNetwork teacher, MultiLayerNetwork student,
                                            List<Windowing.Window> windows) {
        TokenAgreement a = new TokenAgreement();
        for (Windowing.Window w : windows) {
            int[][] ids = {w.inputs()};
            a.addBatch(LanguageModels.logits(teacher, ids), LanguageModels.logits(student, ids),
                    org.nd4j.linalg.factory.Nd4j.create(w.mask(), new long[] {1, w.mask().length}, 'c'));
        }
        return a;
    }
}
