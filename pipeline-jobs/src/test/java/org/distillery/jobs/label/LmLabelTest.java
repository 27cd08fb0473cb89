package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.TeacherFiles;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TokenTables;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.jobs.ingest.IngestConfig;
import org.distillery.jobs.ingest.IngestJob;
import org.distillery.jobs.ingest.TextConfig;
import org.distillery.model.loss.TokenDistillationLoss;
import org.distillery.model.nn.LanguageModels;
import org.distillery.model.nn.LstmArchitecture;
import org.distillery.model.nn.Models;
import org.distillery.model.nn.TokenLogitFunction;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetCodec;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.schema.TokenSoftTargetCodec;
import org.distillery.model.schema.TokenSoftTargetSchema;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code label} over a text transfer set with a teacher LM: a tiny GPT-2 that transformers built over the corpus's
 * own character vocabulary and PyTorch exported to ONNX ({@link TeacherFiles#gpt2Text}), and a DL4J LSTM LM. The stored
 * values equal the teacher's logits computed apart (our {@code OnnxLanguageModel}, itself checked against transformers
 * within 1e-4 in {@code OnnxLanguageModelTest}); the tails' log-sum-exp and the quality report are recomputed here; an
 * incremental rerun over a grown corpus relabels only the new windows. Bad input is refused through the real command
 * line: one line, exit 2, nothing published.
 */
class LmLabelTest extends SparkTestBase {
    private static final double TOLERANCE = 1e-4;
    private static final int WINDOW = 16;
    @TempDir
    static Path dir;
    static String transfer;
    static String grown;
    static String otherVocabulary;
    static int vocabulary;
    static Path lm;

    /** {@code lines} seeded lines of a small alphabet, one document each. */
    private static String corpus(int lines, long seed, String alphabet) {
        Random r = new Random(seed);
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < lines; i++) {
            int n = 5 + r.nextInt(40);
            for (int c = 0; c < n; c++) {
                s.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            s.append('\n');
        }
        return s.toString();
    }

    private static String ingest(Path source, String out) {
        new IngestJob(spark()).run(IngestConfig.builder().source(source.toString(), IngestConfig.Format.TEXT)
                .text(new TextConfig(List.of("line"), WINDOW, 4, 1)).splits(IngestConfig.Splits.oneSet()).out(out)
                .seed(7).build());
        return out;
    }

    @BeforeAll
    static void fixtures() throws Exception {
        String alphabet = "abcdefghij klmno";
        Path text = dir.resolve("corpus/lines.txt");
        Files.createDirectories(text.getParent());
        String first = corpus(40, 1, alphabet);
        Files.writeString(text, first);
        transfer = ingest(text, dir.resolve("data/v1").toString());
        Files.writeString(text, first + corpus(10, 2, alphabet)); // 10 more documents, the first 40 unchanged
        grown = ingest(text, dir.resolve("data/v2").toString());
        Path other = dir.resolve("corpus2/lines.txt");
        Files.createDirectories(other.getParent());
        Files.writeString(other, corpus(20, 3, alphabet + "xyz"));
        otherVocabulary = ingest(other, dir.resolve("data/other").toString());
        Manifest m = Storage.of(spark()).publishedManifest(transfer);
        vocabulary = TextTransferSchema.vocabulary(m).size();
        assertThat(TextTransferSchema.vocabulary(Storage.of(spark()).publishedManifest(grown)).sha256())
                .isEqualTo(m.text(TextTransferSchema.VOCABULARY_SHA256));
        lm = TeacherFiles.gpt2Text(vocabulary, 32, 8, dir.resolve("lm"));
    }

    private static String gpt2() {
        return lm.resolve("gpt2_dynamic.onnx").toString();
    }

    /** The teacher's logits computed apart, per window id: [T][V] at every position. */
    private static Map<Long, float[][]> direct(String teacher, List<Row> rows) {
        TokenLogitFunction f = LanguageModels.teacher(ModelArtifact.read(Storage.of(spark()), teacher).file(), null,
                vocabulary);
        Map<Long, float[][]> out = new TreeMap<>();
        for (Row r : rows) {
            int[] tokens = TransferTables.ints(r, r.fieldIndex(TokenSoftTargetSchema.TOKENS));
            float[] z = f.logits(new int[][] {java.util.Arrays.copyOf(tokens, WINDOW)}).dup('c').data().asFloat();
            float[][] byPosition = new float[WINDOW][vocabulary];
            for (int t = 0; t < WINDOW; t++) {
                for (int v = 0; v < vocabulary; v++) {
                    byPosition[t][v] = z[v * WINDOW + t];
                }
            }
            out.put(r.getLong(0), byPosition);
        }
        return out;
    }

    private static LabelConfig config(String from, String teacher, String out, String precision, Integer topK) {
        return LabelConfig.builder(from, out).teachers(List.of(teacher)).temperature(2).precision(precision)
                .topK(topK).build();
    }

    @Test
    void topKFp32HoldsTheTeachersLargestLogitsAndTheTailsLogSumExp() throws IOException {
        String out = dir.resolve("soft/top8").toString();
        JobResult result = new LabelJob(spark()).run(config(transfer, gpt2(), out, null, 8));
        List<Row> rows = TransferTables.readPublished(spark(), out).collectAsList();
        assertThat(rows).hasSize((int) Storage.of(spark()).publishedManifest(transfer).number("rows"));
        SoftTargetLayout layout = TokenSoftTargetSchema.layout(vocabulary, "fp32", 8);
        assertThat(TransferTables.readPublished(spark(), out).columns())
                .containsExactlyElementsOf(TokenSoftTargetSchema.columns(layout));
        Map<Long, float[][]> want = direct(gpt2(), rows);
        TokenSoftTargetCodec codec = new TokenSoftTargetCodec(layout);
        double worstLogit = 0;
        double worstTail = 0;
        double nll = 0;
        long tokens = 0;
        for (Row r : rows) {
            int from = r.getInt(4);
            int to = r.getInt(5);
            int[] window = TransferTables.ints(r, 3);
            TokenSoftTargetCodec.TopKPositions top = codec.topK(to - from, TokenTables.stored(r, 6, layout));
            for (int t = from; t < to; t++) {
                float[] z = want.get(r.getLong(0))[t];
                SoftTargetCodec.TopK expected = SoftTargetCodec.topK(z, 8);
                for (int j = 0; j < 8; j++) {
                    worstLogit = Math.max(worstLogit, Math.abs(top.logit()[t - from][j]
                            - z[top.index()[t - from][j]]));
                }
                float kth = z[top.index()[t - from][7]]; // the K kept are the K largest (up to rounding)
                for (int v = 0; v < vocabulary; v++) {
                    final int token = v;
                    if (java.util.Arrays.stream(top.index()[t - from]).noneMatch(i -> i == token)) {
                        assertThat((double) z[v]).isLessThanOrEqualTo(kth + TOLERANCE);
                    }
                }
                worstTail = Math.max(worstTail, Math.abs(top.tailLse()[t - from] - expected.tailLse()));
                nll += TokenInference.nllAndEntropy(z, window[t + 1])[0];
                tokens++;
            }
        }
        System.out.printf("top-8 fp32: %d windows, %d tokens, %.2f s (%.0f tokens/s); max |stored - teacher| logit"
                + " %.3g, tail_lse %.3g%n", rows.size(), tokens, result.seconds(), tokens / result.seconds(),
                worstLogit, worstTail);
        assertThat(worstLogit).isLessThanOrEqualTo(TOLERANCE);
        assertThat(worstTail).isLessThanOrEqualTo(TOLERANCE);

        Manifest m = Storage.of(spark()).publishedManifest(out);
        Manifest t = Storage.of(spark()).publishedManifest(transfer);
        assertThat(m.facts()).containsEntry(TokenSoftTargetSchema.SCHEMA_VERSION, 1).containsEntry("topK", 8)
                .containsEntry("precision", "fp32").containsEntry("temperature", 2.0)
                .containsEntry(TextTransferSchema.VOCABULARY_SIZE, vocabulary)
                .containsEntry(TextTransferSchema.VOCABULARY_SHA256, t.text(TextTransferSchema.VOCABULARY_SHA256))
                .containsEntry(TokenSoftTargetSchema.TEACHER_SHA256,
                        ModelArtifact.read(Storage.of(spark()), gpt2()).sha256())
                .containsEntry("scoredTokens", (int) tokens);
        assertThat(m.inputs().get("transfer").manifestId()).isEqualTo(t.id());
        assertThat(TokenSoftTargetSchema.layout(m, out)).isEqualTo(layout);
        assertThat(m.number("teacherBitsPerChar")).isCloseTo(nll / tokens / Math.log(2),
                org.assertj.core.api.Assertions.within(1e-9));
        @SuppressWarnings("unchecked")
        Map<String, Object> quality = Manifest.mapper().readValue(
                Storage.of(spark()).readText(out + "/" + LabelReports.QUALITY), Map.class);
        assertThat(quality).containsKeys("teacherEntropyBitsPerToken", "entropyHistogram", "meanTailMassAtT1");
    }

    @Test
    void denseFp16IsTheTeacherWithinHalfPrecisionAndAnIncrementalRerunLabelsOnlyNewWindows() {
        String out = dir.resolve("soft/dense16").toString();
        new LabelJob(spark()).run(config(transfer, gpt2(), out, "fp16", null));
        SoftTargetLayout layout = TokenSoftTargetSchema.layout(vocabulary, "fp16", null);
        List<Row> before = TransferTables.readPublished(spark(), out).orderBy("id").collectAsList();
        Map<Long, float[][]> want = direct(gpt2(), before);
        TokenSoftTargetCodec codec = new TokenSoftTargetCodec(layout);
        double worst = 0;
        for (Row r : before) {
            int from = r.getInt(4);
            float[][] got = codec.decode(r.getInt(5) - from, TokenTables.stored(r, 6, layout));
            for (int p = 0; p < got.length; p++) {
                for (int v = 0; v < vocabulary; v++) {
                    float z = want.get(r.getLong(0))[from + p][v];
                    worst = Math.max(worst, Math.abs(got[p][v] - z) / Math.max(1, Math.abs(z)));
                }
            }
        }
        System.out.printf("dense fp16: max |stored - teacher| / max(1, |teacher|) = %.3g%n", worst);
        assertThat(worst).isLessThanOrEqualTo(1e-3); // half precision: 2^-11 relative, plus the teacher's rounding

        LabelConfig again = config(grown, gpt2(), out, "fp16", null).toBuilder().mode(PublishMode.INCREMENTAL).build();
        new LabelJob(spark()).run(again);
        Manifest m = Storage.of(spark()).publishedManifest(out);
        long grownRows = (long) Storage.of(spark()).publishedManifest(grown).number("rows");
        @SuppressWarnings("unchecked")
        Map<String, Object> incremental = (Map<String, Object>) m.facts().get("incremental");
        assertThat(((Number) incremental.get("reusedRows")).longValue()).isEqualTo(before.size());
        assertThat(((Number) incremental.get("relabelledRows")).longValue()).isEqualTo(grownRows - before.size());
        List<Row> after = TransferTables.readPublished(spark(), out).orderBy("id").collectAsList();
        assertThat(after).hasSize((int) grownRows);
        Map<Long, Row> byId = new TreeMap<>();
        after.forEach(r -> byId.put(r.getLong(0), r));
        for (Row r : before) {
            assertThat(byId.get(r.getLong(0))).isEqualTo(r); // kept as stored
        }
        Map<Long, float[][]> fresh = direct(gpt2(), after.stream().filter(r -> !before.contains(r)).toList());
        assertThat(fresh).hasSize((int) (grownRows - before.size()));
        // the drift report: the kept windows are the same bits, the new ones are only in the new output
        Map<String, Object> drift = report(out, LabelReports.DRIFT);
        assertThat(((Number) drift.get("windowsCompared")).longValue()).isEqualTo(before.size());
        assertThat(((Number) drift.get("windowsOnlyInNew")).longValue()).isEqualTo(grownRows - before.size());
        assertThat(((Number) drift.get("windowsOnlyInPrevious")).longValue()).isZero();
        assertThat(((Number) drift.get("windowsWithOtherBits")).longValue()).isZero();
        assertThat(((Number) drift.get("top1Flips")).longValue()).isZero();
        assertThat(((Number) drift.get("meanKlPreviousToNew")).doubleValue()).isZero();
        long scored = before.stream().mapToLong(r -> r.getInt(5) - r.getInt(4)).sum();
        assertThat(((Number) drift.get("tokensCompared")).longValue()).isEqualTo(scored);
        assertThat(m.facts().get("drift")).asString().contains("windowsChanged=0");

        // another layout: every window relabelled, and the manifest says why
        new LabelJob(spark()).run(again.withStorage("fp16", 4, null));
        @SuppressWarnings("unchecked")
        Map<String, Object> full = (Map<String, Object>) Storage.of(spark()).publishedManifest(out).facts()
                .get("incremental");
        assertThat((String) full.get("fullRelabel")).startsWith("the storage layout changed (fp16, all "
                + vocabulary + " logits");
        assertThat(((Number) full.get("relabelledRows")).longValue()).isEqualTo(grownRows);
        // dense -> top-4: each output decoded by its own layout; the tail's spread moves the other logits, never the
        // top-1, and costs some KL
        Map<String, Object> topK = report(out, LabelReports.DRIFT);
        assertThat(topK.get("previousStorage")).asString().startsWith("fp16, all " + vocabulary + " logits");
        assertThat(((Number) topK.get("windowsCompared")).longValue()).isEqualTo(grownRows);
        assertThat(((Number) topK.get("windowsChanged")).longValue()).isEqualTo(grownRows);
        assertThat(((Number) topK.get("top1Flips")).longValue()).isZero();
        assertThat(((Number) topK.get("meanKlPreviousToNew")).doubleValue()).isPositive();
    }

    @Test
    void aDryRunSaysWhatWouldBeStoredAndWritesNothing() throws IOException {
        Map<String, Long> before = tree(dir);
        CliRun r = CliRun.of(label(transfer, gpt2(), "--top-k", "4", "--precision", "fp16", "--dry-run"));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("text, manifest", "fp16, top 4 of " + vocabulary + " logits + tail_lse per"
                + " scored token (token soft-target schema v1)", "vocabulary not recorded");
        // text counts tokens per call: its own default, many windows a call, unless told
        assertThat(r.out()).contains(LabelConfig.DEFAULT_TEXT_BATCH / WINDOW + " windows per teacher call (--batch-size "
                + LabelConfig.DEFAULT_TEXT_BATCH + " tokens)");
        CliRun told = CliRun.of(label(transfer, gpt2(), "--batch-size", "" + 3 * WINDOW, "--dry-run"));
        assertThat(told.code()).as(told.err()).isZero();
        assertThat(told.out()).contains("3 windows per teacher call");
        assertThat(tree(dir)).isEqualTo(before);
    }

    @Test
    void aDl4jLstmTeacherIsLabelledLikeAnOnnxOne() {
        MultiLayerNetwork net = LstmArchitecture.parse("lstm:4:8").build(vocabulary,
                TokenDistillationLoss.hardLabelsOnly(), 1e-2, 5);
        String zip = dir.resolve("lstm.zip").toString();
        Storage.of(spark()).writeBytes(zip, Models.toBytes(net, false));
        String out = dir.resolve("soft/lstm").toString();
        new LabelJob(spark()).run(config(transfer, zip, out, null, 4));
        SoftTargetLayout layout = TokenSoftTargetSchema.layout(vocabulary, "fp32", 4);
        List<Row> rows = TransferTables.readPublished(spark(), out).collectAsList();
        Map<Long, float[][]> want = direct(zip, rows);
        double worst = 0;
        for (Row r : rows) {
            int from = r.getInt(4);
            TokenSoftTargetCodec.TopKPositions top = new TokenSoftTargetCodec(layout).topK(r.getInt(5) - from,
                    TokenTables.stored(r, 6, layout));
            for (int p = 0; p < top.index().length; p++) {
                for (int j = 0; j < 4; j++) {
                    worst = Math.max(worst, Math.abs(top.logit()[p][j] - want.get(r.getLong(0))[from + p][top.index()[p][j]]));
                }
            }
        }
        assertThat(worst).isLessThanOrEqualTo(TOLERANCE);
    }

    // --- bad input: one line, exit 2, nothing published ---

    @SuppressWarnings("unchecked")
    private Map<String, Object> report(String out, String name) {
        try {
            return Manifest.mapper().readValue(Storage.of(spark()).readText(out + "/" + name), Map.class);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void refused(String expected, String... args) throws IOException {
        Map<String, Long> before = tree(dir);
        CliRun r = CliRun.of(args);
        assertThat(r.code()).as("exit code of %s: %s", List.of(args), r.err()).isEqualTo(2);
        List<String> lines = r.err().strip().lines().toList();
        assertThat(lines).as("stderr of %s", List.of(args)).hasSize(1);
        assertThat(lines.get(0)).startsWith("distill label: error: ").contains(expected);
        assertThat(tree(dir)).as("files after %s", List.of(args)).isEqualTo(before);
    }

    private static Map<String, Long> tree(Path root) throws IOException {
        Map<String, Long> files = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.filter(Files::isRegularFile).toList()) {
                files.put(root.relativize(p).toString(), Files.size(p));
            }
        }
        return files;
    }

    private static String[] label(String from, String teacher, String... more) {
        List<String> args = new ArrayList<>(List.of("label", "--transfer", from, "--teacher", teacher, "--out",
                dir.resolve("soft/refused").toString()));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    @Test
    void aWindowLongerThanTheTeachersFixedContextIsRefused() throws IOException {
        refused("the windows of " + transfer + " (16 tokens) are longer than the fixed context of teacher LM ",
                label(transfer, lm.resolve("gpt2_fixed.onnx").toString()));
    }

    @Test
    void aTeacherWhoseOutputWidthIsNotTheVocabularySizeIsRefused() throws IOException {
        int other = TextTransferSchema.vocabulary(Storage.of(spark()).publishedManifest(otherVocabulary)).size();
        refused("scores " + vocabulary + " tokens, but the vocabulary has " + other, label(otherVocabulary, gpt2()));
    }

    @Test
    void aVocabularyOtherThanTheTeachersIsRefused() throws IOException {
        String theirs = TextTransferSchema.vocabulary(Storage.of(spark()).publishedManifest(otherVocabulary)).sha256();
        String ours = Storage.of(spark()).publishedManifest(transfer).text(TextTransferSchema.VOCABULARY_SHA256);
        refused("vocabulary mismatch: --vocabulary-sha256 " + theirs + " (the teacher LM's), but " + transfer
                + " has vocabulary " + ours, label(transfer, gpt2(), "--vocabulary-sha256", theirs));
        // a teacher LM published with the vocabulary it was trained on in its manifest
        String published = dir.resolve("models/lstm").toString();
        Storage storage = Storage.of(spark());
        MultiLayerNetwork net = LstmArchitecture.parse("lstm:4:8").build(vocabulary,
                TokenDistillationLoss.hardLabelsOnly(), 1e-2, 5);
        try (StagedOutput o = StagedOutput.begin(storage, published)) {
            storage.writeBytes(o.path(ModelArtifact.FILE), Models.toBytes(net, false));
            o.publish(Manifest.sealed("train", Map.of(), Map.of(), Manifest.facts(TextTransferSchema.VOCABULARY_SHA256,
                    theirs), Versions.current(), "2026-01-01T00:00:00Z"), 0, System.nanoTime());
        }
        refused("vocabulary mismatch: teacher LM " + storage.qualify(published + "/" + ModelArtifact.FILE)
                + " was trained on vocabulary " + theirs + " (its manifest), but " + transfer + " has vocabulary "
                + ours, label(transfer, published));
    }

    @Test
    void aVocabularyHashForATransferSetOfFeatureRowsIsRefused() throws IOException {
        String rows = org.distillery.jobs.Fixtures.transferSet(spark(), dir.resolve("data/rows").toString(), 20, 1, 0);
        refused("--vocabulary-sha256 checks the vocabulary of a text transfer set, but " + rows + " is a transfer set"
                + " of feature rows", label(rows, gpt2(), "--vocabulary-sha256", "0".repeat(64)));
    }

    @Test
    void topKLargerThanTheVocabularyIsRefused() throws IOException {
        refused("--top-k " + (vocabulary + 1) + " is larger than the vocabulary of " + transfer + " (" + vocabulary
                + " tokens)", label(transfer, gpt2(), "--top-k", Integer.toString(vocabulary + 1)));
    }
}
