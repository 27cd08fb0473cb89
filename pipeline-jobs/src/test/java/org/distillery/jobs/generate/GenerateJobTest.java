package org.distillery.jobs.generate;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.ToLongBiFunction;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.TeacherFiles;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.model.data.Stratified;
import org.distillery.model.loss.TokenDistillationLoss;
import org.distillery.model.nn.LanguageModels;
import org.distillery.model.nn.LmDecoder;
import org.distillery.model.nn.LstmArchitecture;
import org.distillery.model.nn.ModelFile;
import org.distillery.model.nn.Models;
import org.distillery.model.nn.Sampling;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.text.CharVocabulary;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code generate} on a tiny seeded corpus with a small DL4J LSTM teacher LM (random weights: these tests check the
 * mechanics, not the teacher's prose). The published documents equal those of the job's own sampler run again on the
 * driver (the same batched code, so exactly), whatever the partitioning; each sample's draws are those of its seed
 * rule, checked against the teacher stepped one stream at a time within a stated tolerance; the output is a text
 * transfer set that {@code train --task lm} and {@code label} read; bad input is refused through the real command
 * line in one line, exit 2, nothing published; a dry run says what it would generate.
 */
class GenerateJobTest extends SparkTestBase {
    private static final int WINDOW = 16;
    private static final int BURN_IN = 4;
    @TempDir
    static Path dir;
    static String text;
    static String prompts;
    static String teacher;
    static CharVocabulary vocabulary;

    @BeforeAll
    static void fixtures() throws Exception {
        Fixtures.textCorpus(dir);
        text = dir.resolve("text").toString();
        CliRun ingest = CliRun.of("ingest", "--format", "text", "--source", dir.resolve("corpus").toString(),
                "--window", "" + WINDOW, "--burn-in", "" + BURN_IN, "--split", "validation=0.15,test=0.15", "--seed",
                "7", "--out", text);
        assertThat(ingest.code()).as(ingest.err()).isZero();
        prompts = text + "/train";
        vocabulary = TextTransferSchema.vocabulary(Storage.of(spark()).publishedManifest(prompts));
        teacher = publishTeacher("models/teacher", vocabulary.sha256());
    }

    /** A small LSTM LM (seeded random weights) published with the vocabulary SHA-256 its manifest records. */
    private static String publishTeacher(String name, String vocabularySha256) {
        MultiLayerNetwork net = LstmArchitecture.parse("lstm:4:8").build(vocabulary.size(),
                TokenDistillationLoss.hardLabelsOnly(), 1e-2, 5);
        String path = dir.resolve(name).toString();
        Storage storage = Storage.of(spark());
        try (StagedOutput o = StagedOutput.begin(storage, path)) {
            storage.writeBytes(o.path(ModelArtifact.FILE), Models.toBytes(net, false));
            o.publish(Manifest.sealed("train", Map.of(), Map.of(), Manifest.facts(TextTransferSchema.VOCABULARY_SHA256,
                    vocabularySha256), Versions.current(), "2026-01-01T00:00:00Z"), 0, System.nanoTime());
        }
        return path;
    }

    private static GenerateConfig.Builder config(String out) {
        return GenerateConfig.builder(prompts, teacher, dir.resolve(out).toString()).promptTokens(6).tokens(40)
                .samplesPerPrompt(2).temperature(0.8).topP(0.9).limit(12);
    }

    private static GenerateConfig run(GenerateConfig c) {
        JobResult r = new GenerateJob(spark()).run(c);
        assertThat(r.path()).isEqualTo(Storage.of(spark()).qualify(c.out()));
        return c;
    }

    /** The published windows, by id: document key, window, start, tokens and scored range. */
    private static List<String> windows(String out) {
        return TransferTables.readPublished(spark(), out).orderBy(TextTransferSchema.ID).collectAsList().stream()
                .map(r -> r.getLong(0) + " " + r.getLong(1) + " " + r.getString(2) + " " + r.getInt(3) + " "
                        + r.getInt(4) + " " + Arrays.toString(TransferTables.ints(r, 5)) + " " + r.getInt(6) + " "
                        + r.getInt(7))
                .toList();
    }

    /**
     * Each document's token stream read back from its windows: window 0's tokens up to its last scored target,
     * then each later window's tokens after the burn-in's last (which the previous window ends with).
     */
    private static Map<String, int[]> documents(String out) {
        Map<String, List<Row>> byKey = new TreeMap<>();
        for (Row r : TransferTables.readPublished(spark(), out).collectAsList()) {
            byKey.computeIfAbsent(r.getString(2), k -> new ArrayList<>()).add(r);
        }
        Map<String, int[]> docs = new TreeMap<>();
        byKey.forEach((key, rows) -> {
            rows.sort((a, b) -> Integer.compare(a.getInt(3), b.getInt(3)));
            List<Integer> stream = new ArrayList<>();
            for (Row r : rows) {
                int[] tokens = TransferTables.ints(r, 5);
                int from = r.getInt(3) == 0 ? 0 : BURN_IN + 1;
                for (int t = from; t <= r.getInt(7); t++) {
                    stream.add(tokens[t]);
                }
            }
            docs.put(key, stream.stream().mapToInt(Integer::intValue).toArray());
        });
        return docs;
    }

    /**
     * The documents {@code c} must produce, by key: the job's own sampler ({@link Continuations}, a DL4J teacher's
     * {@value Continuations#STREAMS} streams stepped together) run here on the driver over the {@code limit} prompt
     * windows with the smallest ids, all in one call as the job's one-task run gets them.
     */
    private static Map<String, int[]> sampled(GenerateConfig c) {
        List<Row> rows = TransferTables.readPublished(spark(), prompts).orderBy(TextTransferSchema.ID)
                .limit(c.limit()).select(TextTransferSchema.ID, TextTransferSchema.TOKENS, TextTransferSchema.SCORED_TO)
                .collectAsList();
        ModelArtifact lm = ModelArtifact.read(Storage.of(spark()), teacher);
        Broadcast<ModelFile> file = JavaSparkContext.fromSparkContext(spark().sparkContext()).broadcast(lm.file());
        Continuations sampler = new Continuations("driver:" + lm.sha256(), file, c.teacherOutput(), vocabulary.size(),
                WINDOW, c);
        Map<String, int[]> docs = new TreeMap<>();
        sampler.call(rows.iterator()).forEachRemaining(r -> docs.put(r.getString(0), (int[]) r.get(4)));
        return docs;
    }

    /** How far a single-stream step's probabilities may be from the batched step's (float rounding of the gemms). */
    private static final double TOLERANCE = 1e-5;

    /** scored_to of each prompt window, by id: how many of its tokens are real inputs. */
    private static Map<Long, Integer> realInputs() {
        Map<Long, Integer> out = new TreeMap<>();
        TransferTables.readPublished(spark(), prompts).collectAsList().forEach(r -> out.put(r.getLong(0),
                r.getInt(7)));
        return out;
    }

    /** The prompt window id of a generated document's key {@code generate:seed=S:prompt=ID#SAMPLE}. */
    private static long promptId(String key) {
        return Long.parseLong(key.substring(key.indexOf("prompt=") + 7, key.indexOf('#')));
    }

    /**
     * How many of the sampled tokens of {@code docs} (made under {@code c}, top-p 1) the generator {@code rng} of each
     * document explains: replayed against the teacher stepped one stream at a time ({@link LmDecoder}), token t at a
     * step is explained when the uniform draw u of that step falls in t's interval of the cumulative distribution in
     * {@link Sampling}'s order (falling probability), widened by {@link #TOLERANCE} at both ends and by the mass of
     * the tokens whose probability is within {@link #TOLERANCE} of t's (their order against t may differ between the
     * batched and single-stream probabilities). Returns {explained, sampled}.
     */
    private static long[] explained(GenerateConfig c, Map<String, int[]> docs,
                                    ToLongBiFunction<Long, Integer> seedOf) {
        LmDecoder decoder = LmDecoder.of(LanguageModels.teacher(ModelArtifact.read(Storage.of(spark()), teacher)
                .file(), null, vocabulary.size()), WINDOW);
        Map<Long, Integer> realInputs = realInputs();
        long ok = 0;
        long sampled = 0;
        for (Map.Entry<String, int[]> e : docs.entrySet()) {
            String key = e.getKey();
            long id = promptId(key);
            int sample = Integer.parseInt(key.substring(key.indexOf('#') + 1));
            int[] stream = e.getValue();
            int p = Math.min(c.promptTokens(), realInputs.get(id));
            Random rng = new Random(seedOf.applyAsLong(id, sample));
            float[] z = decoder.prime(Arrays.copyOf(stream, p));
            for (int k = p; k < stream.length; k++) {
                double u = rng.nextDouble();
                double[] q = Sampling.distribution(z, c.temperature(), c.topP());
                int t = stream[k];
                double before = 0;
                double either = 0;
                for (int j = 0; j < q.length; j++) {
                    if (j == t) {
                        continue;
                    }
                    if (Math.abs(q[j] - q[t]) <= TOLERANCE) {
                        either += q[j];
                    } else if (q[j] > q[t]) {
                        before += q[j];
                    }
                }
                ok += u >= before - TOLERANCE && u < before + either + q[t] + TOLERANCE ? 1 : 0;
                sampled++;
                if (k + 1 < stream.length) {
                    z = decoder.step(t);
                }
            }
        }
        return new long[] {ok, sampled};
    }

    @Test
    void theSameSeedGivesTheSameTextWhateverThePartitioningAndAnotherSeedOtherText() {
        GenerateConfig one = run(config("gen/one-task").partitions(1).build());
        GenerateConfig three = run(config("gen/three-tasks").partitions(3).build());
        GenerateConfig other = run(config("gen/other-seed").partitions(2).seed(43).build());

        // the job's one task and the sampler run again on the driver: the same code on the same rows
        Map<String, int[]> got = documents(one.out());
        Map<String, int[]> want = sampled(one);
        assertThat(got.keySet()).isEqualTo(want.keySet()).hasSize(24);
        want.forEach((key, stream) -> assertThat(got.get(key)).as(key).containsExactly(stream));
        // three tasks put other streams side by side; every step is still STREAMS rows wide (same shapes, so the
        // same arithmetic for each row whatever its neighbours), and each sample keeps its own generator and state
        assertThat(windows(three.out())).isEqualTo(windows(one.out()));
        List<int[]> otherTexts = new ArrayList<>(documents(other.out()).values());
        List<int[]> texts = new ArrayList<>(got.values());
        int same = 0;
        for (int i = 0; i < texts.size(); i++) { // same prompts in the same order (keys differ by the seed only)
            same += Arrays.equals(texts.get(i), otherTexts.get(i)) ? 1 : 0;
        }
        assertThat(same).as("continuations equal under seeds 42 and 43").isZero();

        // the manifest: a text transfer set with the prompts' vocabulary and windowing, and the generation's provenance
        Storage storage = Storage.of(spark());
        Manifest m = storage.publishedManifest(one.out());
        Manifest p = storage.publishedManifest(prompts);
        assertThat(TextTransferSchema.vocabulary(m)).isEqualTo(vocabulary);
        assertThat(TextTransferSchema.windowing(m)).isEqualTo(TextTransferSchema.windowing(p));
        assertThat((long) m.number("rows")).isEqualTo(windows(one.out()).size());
        assertThat((long) m.number("documents")).isEqualTo(24);
        Map<Long, Integer> realInputs = realInputs();
        long generated = 0;
        long ended = 0;
        for (Map.Entry<String, int[]> e : want.entrySet()) {
            String key = e.getKey();
            long promptId = promptId(key);
            int[] stream = e.getValue();
            generated += stream.length - Math.min(6, realInputs.get(promptId));
            ended += stream[stream.length - 1] == CharVocabulary.BOUNDARY ? 1 : 0;
        }
        Map<?, ?> g = (Map<?, ?>) m.facts().get("generation");
        System.out.printf("generate: 24 documents, %d tokens sampled, %d ended on a boundary, %d windows%n", generated,
                ended, (long) m.number("rows"));
        assertThat(((Number) g.get("generatedTokens")).longValue()).isEqualTo(generated);
        assertThat(((Number) g.get("endedDocuments")).longValue()).isEqualTo(ended);
        assertThat(g.get("teacherSha256")).isEqualTo(ModelArtifact.read(storage, teacher).sha256());
        assertThat(g.get("promptsManifest")).isEqualTo(p.id());
        assertThat(g.get("promptsPath")).isEqualTo(storage.qualify(prompts));
        assertThat(g.get("teacherVocabulary")).isEqualTo("teacher manifest");
        assertThat(((Number) g.get("temperature")).doubleValue()).isEqualTo(0.8);
        assertThat(((Number) g.get("topP")).doubleValue()).isEqualTo(0.9);
        assertThat(((Number) g.get("seed")).longValue()).isEqualTo(42);
        assertThat(((Number) g.get("promptTokens")).intValue()).isEqualTo(6);
        assertThat(((Number) g.get("tokensPerPrompt")).intValue()).isEqualTo(40);
        assertThat(m.inputs().get("prompts").manifestId()).isEqualTo(p.id());
        assertThat(m.inputs().get("teacher").path()).isEqualTo(storage.qualify(teacher));
    }

    /**
     * Sample s of the prompt in window i draws from Random(rank(rank(seed, i), s)): replayed one stream at a time,
     * that generator explains every sampled token (within {@link #TOLERANCE} of the batched probabilities), and the
     * next sample's generator, or one seeded by the window alone, explains few of them.
     */
    @Test
    void eachSampleDrawsFromItsOwnSeedRule() {
        GenerateConfig c = config("gen/seed-rule").topP(1).build(); // no nucleus edge to cross by rounding
        Map<String, int[]> docs = sampled(c);
        long[] rule = explained(c, docs, (id, s) -> Stratified.rank(Stratified.rank(c.seed(), id), s));
        long[] sibling = explained(c, docs, (id, s) -> Stratified.rank(Stratified.rank(c.seed(), id), s + 1));
        long[] window = explained(c, docs, (id, s) -> Stratified.rank(c.seed(), id));
        System.out.printf("generate seed rule: %d of %d sampled tokens explained by the rule, %d by the next"
                + " sample's generator, %d by the window's%n", rule[0], rule[1], sibling[0], window[0]);
        assertThat(rule[1]).as("sampled tokens").isGreaterThan(200);
        assertThat(rule[0]).as("tokens the seed rule explains").isEqualTo(rule[1]);
        assertThat(sibling[0]).as("tokens the next sample's generator explains").isLessThan(rule[1] / 2);
        assertThat(window[0]).as("tokens the window's generator explains").isLessThan(rule[1] / 2);
    }

    @Test
    void theOutputIsATextTransferSetThatTrainAndLabelRead() {
        GenerateConfig c = run(config("gen/for-student").limit(30).tokens(48).samplesPerPrompt(1).build());
        long rows = (long) Storage.of(spark()).publishedManifest(c.out()).number("rows");
        String student = dir.resolve("students/hard").toString();
        CliRun train = CliRun.of("train", "--task", "lm", "--objective", "hard", "--transfer", c.out(),
                "--validation", text + "/validation", "--out", student, "--embedding", "8", "--hidden", "16",
                "--layers", "1", "--batch-size", "16", "--epochs", "1", "--workers", "2", "--local-master",
                "local[2]");
        assertThat(train.code()).as(train.err()).isZero();
        Manifest s = Storage.of(spark()).publishedManifest(student);
        assertThat((long) s.number("rows")).isEqualTo(rows);
        assertThat(s.inputs().get("transfer").path()).isEqualTo(Storage.of(spark()).qualify(c.out()));

        String soft = dir.resolve("soft/generated").toString();
        CliRun label = CliRun.of("label", "--transfer", c.out(), "--teacher", teacher, "--top-k", "4", "-T", "2",
                "--out", soft, "--local-master", "local[2]");
        assertThat(label.code()).as(label.err()).isZero();
        assertThat(TransferTables.readPublished(spark(), soft).count()).isEqualTo(rows);
        String kdStudent = dir.resolve("students/kd").toString();
        CliRun kd = CliRun.of("train", "--task", "lm", "--objective", "kd", "--soft-targets", soft, "--validation",
                text + "/validation", "--out", kdStudent, "--embedding", "8", "--hidden", "16", "--layers", "1",
                "--batch-size", "16", "--epochs", "1", "--workers", "2", "--local-master", "local[2]");
        assertThat(kd.code()).as(kd.err()).isZero();
        assertThat(Storage.of(spark()).publishedManifest(kdStudent).inputs().get("transfer").path())
                .isEqualTo(Storage.of(spark()).qualify(c.out()));
    }

    @Test
    void aDryRunSaysWhatWouldBeGeneratedAndWritesNothing() throws IOException {
        Map<String, Long> before = tree(dir);
        String out = dir.resolve("gen/dry").toString();
        CliRun r = CliRun.of(generate(out, "--limit", "12", "--samples-per-prompt", "2", "--tokens", "40",
                "--dry-run"));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("distill generate --dry-run: all checks passed, nothing was run")
                .contains("12 prompt(s) of the first 16 tokens of a window (--limit 12: the smallest window ids) x 2"
                        + " sample(s), up to 40 tokens each: at most 960 tokens, 24 documents")
                .contains("temperature 1.0, top-p 1.0, seed 42")
                .contains("decoding stepped (an LSTM step per token)")
                .contains(Storage.of(spark()).qualify(out) + " (new)");
        assertThat(r.lastLine()).startsWith("{").contains("\"dryRun\":true");
        assertThat(tree(dir)).isEqualTo(before);
    }

    // --- bad input: one line, exit 2, nothing published ---

    private static String[] generate(String out, String... more) {
        return generateFrom(prompts, teacher, out, more);
    }

    private static String[] generateFrom(String from, String lm, String out, String... more) {
        List<String> args = new ArrayList<>(List.of("generate", "--prompts", from, "--teacher", lm, "--out", out,
                "--local-master", "local[2]"));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    private static void refused(String expected, String... args) throws IOException {
        Map<String, Long> before = tree(dir);
        CliRun r = CliRun.of(args);
        assertThat(r.code()).as("exit code of %s: %s", List.of(args), r.err()).isEqualTo(2);
        List<String> lines = r.err().strip().lines().toList();
        assertThat(lines).as("stderr of %s", List.of(args)).hasSize(1);
        assertThat(lines.get(0)).startsWith("distill generate: error: ").contains(expected);
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

    @Test
    void badSettingsAndInputsAreRefusedInOneLine() throws IOException {
        String out = dir.resolve("gen/refused").toString();
        refused("--temperature must be a finite number > 0, got 0.0", generate(out, "--temperature", "0"));
        refused("--temperature must be a finite number > 0, got -1.0", generate(out, "--temperature", "-1"));
        refused("--top-p must be in (0, 1], got 0.0", generate(out, "--top-p", "0"));
        refused("--top-p must be in (0, 1], got 1.5", generate(out, "--top-p", "1.5"));
        refused("--prompt-tokens 17 is longer than the windows of " + prompts + " (16 tokens)",
                generate(out, "--prompt-tokens", "17"));

        String images = Fixtures.transferSet(spark(), dir.resolve("images").toString(), 20, 3, 0);
        refused("--prompts " + images + " is not a text transfer set (ingest --format text makes one)",
                generateFrom(images, teacher, out));

        String other = "0".repeat(64);
        String otherTeacher = publishTeacher("models/other-vocabulary", other);
        refused("vocabulary mismatch: teacher LM " + Storage.of(spark()).qualify(otherTeacher + "/"
                + ModelArtifact.FILE) + " was trained on vocabulary " + other + " (its manifest), but " + prompts
                + " has vocabulary " + vocabulary.sha256(), generateFrom(prompts, otherTeacher, out));
        String bare = dir.resolve("models/bare.zip").toString();
        Storage.of(spark()).writeBytes(bare, ModelArtifact.read(Storage.of(spark()), teacher).bytes());
        refused("vocabulary mismatch: --vocabulary-sha256 " + other + " (the teacher LM's), but " + prompts
                + " has vocabulary " + vocabulary.sha256(), generateFrom(prompts, bare, out, "--vocabulary-sha256", other));
    }

    /** An ONNX causal LM teacher (a tiny GPT-2 that transformers built and PyTorch exported; needs python3). */
    @Test
    void anOnnxTeacherGeneratesAndOneWhoseFixedContextIsShorterThanTheWindowsIsRefused() throws Exception {
        Path lm = TeacherFiles.gpt2Text(vocabulary.size(), 32, 8, dir.resolve("gpt2"));
        String out = dir.resolve("gen/refused").toString();
        String fixed = lm.resolve("gpt2_fixed.onnx").toString();
        refused("the generated windows (16 tokens, those of " + prompts + ") are longer than the fixed context of"
                + " teacher LM " + Storage.of(spark()).qualify(fixed) + " (8 tokens)", generateFrom(prompts, fixed, out));

        String onnx = dir.resolve("gen/onnx").toString();
        CliRun r = CliRun.of(generateFrom(prompts, lm.resolve("gpt2_dynamic.onnx").toString(), onnx, "--limit", "4",
                "--tokens", "24", "--prompt-tokens", "4"));
        assertThat(r.code()).as(r.err()).isZero();
        Manifest m = Storage.of(spark()).publishedManifest(onnx);
        assertThat((long) m.number("documents")).isEqualTo(4);
        assertThat(((Map<?, ?>) m.facts().get("generation")).get("decoding"))
                .isEqualTo("recomputed over the last 16 tokens at every token");
        assertThat(documents(onnx).values()).allSatisfy(s -> assertThat(s.length).isBetween(2, 4 + 24));
    }
}
