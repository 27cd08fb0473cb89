package org.distillery.jobs.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.train.averaging.EngineConfig;
import org.distillery.model.nn.LanguageModels;
import org.distillery.model.nn.TokenLogitFunction;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.text.CharVocabulary;
import org.distillery.model.text.Windowing;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --task lm} end to end on a tiny seeded corpus ingested by {@code ingest --format text}: a learnable text
 * (slices of one repeated sentence) takes validation bits/char well below log2(V); the published LM reads back as a
 * {@link TokenLogitFunction} and its manifest records what a label job checks; a run resumed from a checkpoint ends
 * with the parameters of an uninterrupted one; bad input is refused in one line, exit 2, nothing published.
 */
class LmTrainJobTest extends SparkTestBase {
    @TempDir
    static Path dir;
    static String text;

    /** The text fixture's corpus ({@link Fixtures#textCorpus}), ingested. */
    @BeforeAll
    static void corpus() throws Exception {
        Fixtures.textCorpus(dir);
        text = dir.resolve("text").toString();
        CliRun ingest = CliRun.of("ingest", "--format", "text", "--source", dir.resolve("corpus").toString(),
                "--window", "16", "--burn-in", "4", "--split", "validation=0.15,test=0.15", "--seed", "7", "--out",
                text);
        assertThat(ingest.code()).as(ingest.err()).isZero();
    }

    private static List<String> args(String out, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--task", "lm", "--objective", "hard", "--transfer",
                text + "/train", "--validation", text + "/validation", "--out", dir.resolve(out).toString(),
                "--embedding", "8", "--hidden", "32", "--layers", "1", "--batch-size", "16", "--averaging-frequency",
                "4", "--workers", "2", "--learning-rate", "0.02", "--local-master", "local[2]"));
        a.addAll(List.of(more));
        return a;
    }

    private static Manifest manifest(String out) {
        return Storage.of(spark()).publishedManifest(dir.resolve(out).toString());
    }

    @Test
    void lowersValidationBitsPerCharAndPublishesATeacherTheLabelJobCanCheck() {
        long t0 = System.nanoTime();
        CliRun run = CliRun.of(args("lm", "--epochs", "6"));
        assertThat(run.code()).as(run.err()).isZero();
        double seconds = (System.nanoTime() - t0) / 1e9;

        Manifest m = manifest("lm");
        Manifest train = Storage.of(spark()).publishedManifest(text + "/train");
        CharVocabulary vocabulary = TextTransferSchema.vocabulary(train);
        int v = vocabulary.size();
        double uniform = Math.log(v) / Math.log(2);
        double before = m.number("initialValidationBitsPerChar");
        double after = m.number("validationBitsPerChar");
        System.out.printf("LM on %d windows: validation bits/char %.3f -> %.3f (log2 V = %.3f, V = %d) in %.1f s%n",
                (long) m.number("rows"), before, after, uniform, v, seconds);
        assertThat(before).as("an untrained LM is about uniform").isBetween(uniform - 0.5, uniform + 0.5);
        assertThat(after).as("the corpus is one sentence repeated: learnable").isLessThan(0.5 * uniform);

        // what a label job checks a text set against: the vocabulary, its SHA-256, the windowing, the architecture
        assertThat(m.facts()).containsEntry("task", "lm").containsEntry("objective", "hard")
                .containsEntry("architecture", "lstm:8:32")
                .containsEntry(TextTransferSchema.VOCABULARY_SHA256, vocabulary.sha256());
        assertThat(m.number(TextTransferSchema.VOCABULARY_SIZE)).isEqualTo(v);
        assertThat(m.facts().get(TextTransferSchema.VOCABULARY)).isEqualTo(vocabulary.codePoints());
        assertThat(m.number(TextTransferSchema.WINDOW_LENGTH)).isEqualTo(16);
        assertThat(m.number(TextTransferSchema.BURN_IN)).isEqualTo(4);
        assertThat(m.inputs()).containsKeys("transfer", "validation");
        assertThat(m.config().get("task").asText()).isEqualTo("lm");
        assertThat(m.config().get("lm").toString()).isEqualTo("{\"embedding\":8,\"hidden\":32,\"layers\":1}");

        // read back as a teacher LM: the same bits/char on the validation windows as the manifest says
        ModelArtifact model = ModelArtifact.read(Storage.of(spark()), dir.resolve("lm").toString());
        TokenLogitFunction teacher = LanguageModels.teacher(model.file(), null, v);
        assertThat(teacher.vocabulary()).isEqualTo(v);
        MultiLayerNetwork net = model.network();
        List<Windowing.Window> validation = LmWindows.collect(TransferTables.readPublished(spark(),
                text + "/validation"), v, 16);
        assertThat(LmWindows.score(net, validation).bitsPerChar()).isCloseTo(after,
                org.assertj.core.data.Offset.offset(1e-9));
        int[][] ids = {validation.get(0).inputs()};
        assertThat(teacher.logits(ids)).isEqualTo(LanguageModels.logits(net, ids));
        assertThat(run.lastLine()).contains("\"rows\":" + (long) m.number("rows"));
    }

    @Test
    void aResumedRunEndsWithTheParametersOfAnUninterruptedOne() throws Exception {
        CliRun straight = CliRun.of(args("straight", "--epochs", "3", "--checkpoint-dir",
                dir.resolve("straight-ckpt").toString()));
        assertThat(straight.code()).as(straight.err()).isZero();
        // the kill: the same run's checkpoints as they stood after epoch 2 (a copy without the last epoch's)
        copy(dir.resolve("straight-ckpt"), dir.resolve("killed-ckpt"));
        Path last;
        try (Stream<Path> all = Files.walk(dir.resolve("killed-ckpt"))) {
            last = all.filter(p -> p.getFileName().toString().equals("epoch-0003")).findFirst().orElseThrow();
        }
        delete(last);
        CliRun resumed = CliRun.of(args("resumed", "--epochs", "3", "--checkpoint-dir",
                dir.resolve("killed-ckpt").toString(), "--resume"));
        assertThat(resumed.code()).as(resumed.err()).isZero();
        assertThat(params("resumed")).isEqualTo(params("straight"));
        // the epochs scored before the kill are kept (their lines differ only in seconds)
        assertThat(Files.readAllLines(dir.resolve("resumed").resolve(TrainJob.SCORES))).hasSize(3)
                .hasSameSizeAs(Files.readAllLines(dir.resolve("straight").resolve(TrainJob.SCORES)));
        assertThat(manifest("resumed").number("validationBitsPerChar"))
                .isEqualTo(manifest("straight").number("validationBitsPerChar"));
    }

    @Test
    void aDryRunSaysWhatTheRunWouldTrain() {
        CliRun plan = CliRun.of(args("dry", "--epochs", "2", "--dry-run"));
        assertThat(plan.code()).as(plan.err()).isZero();
        assertThat(plan.out()).contains("task", "lm").containsPattern("lstm:8:32 over 30 tokens, \\d+ parameters;"
                + " windows of 16 tokens, burn-in 4").contains("TokenDistillationLoss(T=1.0, alpha=0.0");
        assertThat(dir.resolve("dry")).doesNotExist();
    }

    @Test
    void anLmCachesItsMinibatchesAsObjectsUnlessTold() {
        // one-hot sequence targets kept serialised on the heap exhaust it over a whole corpus (EngineConfig)
        CliRun plan = CliRun.of(args("dry", "--epochs", "1", "--dry-run"));
        assertThat(plan.code()).as(plan.err()).isZero();
        assertThat(plan.out()).contains("storageLevel=" + EngineConfig.DEFAULT_LM_STORAGE_LEVEL + ",");
        CliRun told = CliRun.of(args("dry", "--epochs", "1", "--storage-level", "MEMORY_AND_DISK_SER", "--dry-run"));
        assertThat(told.code()).as(told.err()).isZero();
        assertThat(told.out()).contains("storageLevel=MEMORY_AND_DISK_SER,");
        CliRun classifier = CliRun.of("train", "--objective", "hard", "--transfer", Fixtures.transferSet(spark(),
                dir.resolve("storage-vectors").toString(), 64, 3, 0), "--out", dir.resolve("dry").toString(),
                "--dry-run");
        assertThat(classifier.code()).as(classifier.err()).isZero();
        assertThat(classifier.out()).contains("storageLevel=" + EngineConfig.DEFAULT_STORAGE_LEVEL + ",");
    }

    @Test
    void refusesATransferSetOfTheOtherKindInOneLineAndPublishesNothing() {
        String vectors = Fixtures.transferSet(spark(), dir.resolve("vectors").toString(), 64, 3, 0);
        List<String> lm = args("bad-lm", "--epochs", "1");
        lm.set(lm.indexOf("--transfer") + 1, vectors);
        lm.remove("--validation");
        lm.remove(text + "/validation");
        assertRefused(CliRun.of(lm), "bad-lm", "--transfer " + vectors + " is not a text transfer set (ingest --format"
                + " text makes one); --task lm trains on text");

        CliRun classifier = CliRun.of("train", "--objective", "hard", "--transfer", text + "/train", "--out",
                dir.resolve("bad-classifier").toString(), "--epochs", "1");
        assertRefused(classifier, "bad-classifier", "--transfer " + text + "/train is a text transfer set: train a"
                + " language model on it with --task lm");

        List<String> kd = args("bad-kd", "--epochs", "1", "--soft-targets", text + "/train");
        kd.set(kd.indexOf("hard"), "kd");
        assertRefused(CliRun.of(kd), "bad-kd", "--soft-targets " + text + "/train are not token-level soft targets"
                + " (label a text transfer set with a teacher LM to make them); --task lm --objective kd reads those");

        List<String> pseudo = args("bad-pseudo", "--epochs", "1", "--soft-targets", text + "/train");
        pseudo.set(pseudo.indexOf("hard"), "pseudo_label");
        assertRefused(CliRun.of(pseudo), "bad-pseudo", "task lm trains with --objective hard (next-token"
                + " cross-entropy) or kd (token soft targets); objective pseudo_label is not supported for language"
                + " models");
    }

    /**
     * The LM chain end to end: a teacher trained here, {@code label} over the training windows (top-4 logits per
     * scored position, T = 2; it checks the text set against the vocabulary SHA-256 the teacher's manifest records),
     * then kd with alpha 1: the student sees no next token, only the teacher's top-4 logits softened at T = 2, and
     * still learns the corpus, so the soft targets reach the loss position by position.
     */
    @Test
    void aKdStudentLearnsTheCorpusFromTheTeachersTokenSoftTargetsAlone() {
        CliRun teacherRun = CliRun.of(args("teacher", "--epochs", "6"));
        assertThat(teacherRun.code()).as(teacherRun.err()).isZero();
        String soft = dir.resolve("soft").toString();
        CliRun label = CliRun.of("label", "--transfer", text + "/train", "--teacher", dir.resolve("teacher").toString(),
                "-T", "2", "--top-k", "4", "--out", soft, "--local-master", "local[2]");
        assertThat(label.code()).as(label.err()).isZero();
        List<String> kd = args("kd", "--epochs", "6", "--alpha", "1");
        kd.set(kd.indexOf("--hidden") + 1, "16");
        kd.set(kd.indexOf("hard"), "kd");
        kd.set(kd.indexOf("--transfer"), "--soft-targets"); // the transfer set: the one they were labelled from
        kd.set(kd.indexOf(text + "/train"), soft);
        long t0 = System.nanoTime();
        CliRun run = CliRun.of(kd);
        assertThat(run.code()).as(run.err()).isZero();
        Manifest m = manifest("kd");
        double uniform = Math.log(m.number(TextTransferSchema.VOCABULARY_SIZE)) / Math.log(2);
        System.out.printf("KD student (top-4, T=2, alpha=1) %s: validation bits/char %.3f -> %.3f, teacher %.3f"
                + " (log2 V = %.3f) in %.1f s%n", m.text("architecture"), m.number("initialValidationBitsPerChar"),
                m.number("validationBitsPerChar"), manifest("teacher").number("validationBitsPerChar"), uniform,
                (System.nanoTime() - t0) / 1e9);
        assertThat(m.facts()).containsEntry("objective", "kd").containsEntry("temperature", 2.0)
                .containsEntry("alpha", 1.0).containsEntry("architecture", "lstm:8:16");
        assertThat(m.inputs()).containsKeys("transfer", "softTargets", "validation");
        assertThat(m.inputs().get("transfer").path()).endsWith("/text/train");
        assertThat(m.number("validationBitsPerChar")).isLessThan(0.5 * uniform);
    }

    private static void assertRefused(CliRun run, String out, String message) {
        assertThat(run.code()).as(run.err()).isEqualTo(2);
        assertThat(run.err().strip()).isEqualTo("distill train: error: " + message);
        assertThat(dir.resolve(out)).doesNotExist();
    }

    private static org.nd4j.linalg.api.ndarray.INDArray params(String out) {
        return ModelArtifact.read(Storage.of(spark()), dir.resolve(out).toString()).network().params();
    }

    private static void copy(Path from, Path to) throws Exception {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }

    private static void delete(Path root) throws Exception {
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
