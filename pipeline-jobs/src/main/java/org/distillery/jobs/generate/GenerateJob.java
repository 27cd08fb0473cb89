package org.distillery.jobs.generate;

import static org.apache.spark.sql.functions.col;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.Progress;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TeacherLms;
import org.distillery.jobs.common.TextWindows;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.model.nn.LanguageModels;
import org.distillery.model.nn.LmDecoder;
import org.distillery.model.nn.ModelFile;
import org.distillery.model.nn.Models;
import org.distillery.model.nn.TokenLogitFunction;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.text.CharVocabulary;
import org.distillery.model.text.Windowing;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sequence-level (black-box) distillation's transfer set (Kim &amp; Rush 2016, "Sequence-Level Knowledge
 * Distillation"): a frozen teacher LM samples continuations of prompts, and the prompts with their continuations are
 * published as a text transfer set ({@link TextTransferSchema} version 1, the manifest facts ingest writes), which
 * {@code train --task lm --objective hard} trains a student on and {@code label} can put the teacher's soft targets on.
 *
 * <p>The prompts are the windows of a published text transfer set (e.g. a training split): each window's first P
 * tokens. Each sample is one document, the prompt then up to N sampled tokens ({@link Continuations}), cut into windows
 * of the prompts' length and burn-in by the same {@link Windowing} as ingest, so the student's validation split
 * matches. Rows are written in id order, so the output is the same whatever the partitioning.
 *
 * <p>Checked before Spark reads a row, each refused in one line: prompts that are not a text transfer set, a teacher
 * whose vocabulary (SHA-256, as the teacher's manifest or {@code --vocabulary-sha256} records it) or output width is
 * not the prompts', windows longer than an ONNX teacher's fixed context, a prompt longer than a window.
 */
public final class GenerateJob {
    private static final Logger LOG = LoggerFactory.getLogger(GenerateJob.class);
    private static final List<String> STATS = List.of("documents", "characters", "unknownCharacters", "windows",
            "scoredTokens", "promptTokens", "generatedTokens", "endedDocuments");
    private final SparkSession spark;

    public GenerateJob(SparkSession spark) {
        this.spark = spark;
    }

    /** What {@link #check} established: the prompts, their windowing and vocabulary, the teacher. */
    record Checked(ResolvedInput prompts, Windowing windowing, CharVocabulary vocabulary, ModelArtifact teacher,
                   TokenLogitFunction lm, String vocabularyRecord) {
        /** The teacher's SHA-256, or with an ONNX output named, that of {@code SHA256#OUTPUT} (as label's). */
        String sha256(GenerateConfig config) {
            return config.teacherOutput() == null ? teacher.sha256()
                    : Models.sha256((teacher.sha256() + "#" + config.teacherOutput())
                            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }

        long promptWindows(GenerateConfig config) {
            long rows = (long) prompts.manifest().number("rows");
            return config.limit() == null ? rows : Math.min(rows, config.limit());
        }

        String decoding() {
            return LmDecoder.steps(lm) ? "stepped (an LSTM step per token)"
                    : "recomputed over the last " + windowing.length() + " tokens at every token";
        }
    }

    /** Every rule of a run, checked before Spark reads a row; a dry run stops here. */
    static Checked check(Storage storage, GenerateConfig c) {
        OutputRule.of(storage).input("--prompts", c.prompts()).input("--teacher", c.teacher()).check("--out", c.out());
        StagedOutput.check(storage, c.out(), c.mode());
        ResolvedInput prompts = ResolvedInput.output(storage, c.prompts());
        Manifest m = prompts.manifest();
        if (!m.facts().containsKey(TextTransferSchema.SCHEMA_VERSION)) {
            throw new IllegalArgumentException("--prompts " + c.prompts() + " is not a text transfer set (ingest"
                    + " --format text makes one); generate takes its prompts from the windows of one");
        }
        Windowing windowing = TextTransferSchema.windowing(m);
        CharVocabulary vocabulary = TextTransferSchema.vocabulary(m);
        if (!(m.facts().get("rows") instanceof Number n) || n.longValue() == 0) {
            throw new IllegalArgumentException("--prompts " + c.prompts() + " has no windows to take prompts from");
        }
        if (c.promptTokens() > windowing.length()) {
            throw new IllegalArgumentException("--prompt-tokens " + c.promptTokens() + " is longer than the windows of "
                    + c.prompts() + " (" + windowing.length() + " tokens): a prompt is the start of one window");
        }
        ModelArtifact teacher = ModelArtifact.read(storage, c.teacher());
        if (c.teacherSha256() != null && !c.teacherSha256().equals(teacher.sha256())) {
            throw new IllegalArgumentException("teacher SHA-256 mismatch: --teacher-sha256 " + c.teacherSha256()
                    + " but " + teacher.zipPath() + " has " + teacher.sha256());
        }
        String record = TeacherLms.checkVocabulary(teacher, c.vocabularySha256(), c.prompts(), vocabulary);
        TokenLogitFunction lm = LanguageModels.teacher(teacher.file(), c.teacherOutput(), vocabulary.size());
        if (lm.context().isPresent() && lm.context().getAsInt() < windowing.length()) {
            throw new IllegalArgumentException("the generated windows (" + windowing.length() + " tokens, those of "
                    + c.prompts() + ") are longer than the fixed context of teacher LM " + teacher.zipPath() + " ("
                    + lm.context().getAsInt() + " tokens)");
        }
        return new Checked(prompts, windowing, vocabulary, teacher, lm, record);
    }

    /** Checks everything a run would, without Spark, and says what it would generate. */
    public static DryRun dryRun(Storage storage, GenerateConfig c) {
        Checked k = check(storage, c);
        Manifest m = k.prompts().manifest();
        long prompts = k.promptWindows(c);
        return new DryRun("generate")
                .with("prompts", k.prompts().path() + " (text, manifest " + m.id() + ", " + (long) m.number("rows")
                        + " windows of " + k.windowing().length() + " tokens, burn-in " + k.windowing().burnIn()
                        + ", vocabulary " + k.vocabulary().size() + " ids, sha256 " + k.vocabulary().sha256() + ")")
                .with("teacher", k.teacher().zipPath() + " (" + k.teacher().format().label() + ", sha256 "
                        + k.teacher().sha256() + ", " + k.lm().describe() + "; vocabulary " + k.vocabularyRecord()
                        + "; decoding " + k.decoding() + ")")
                .with("sampling", "temperature " + c.temperature() + ", top-p " + c.topP() + ", seed " + c.seed())
                .with("generates", prompts + " prompt(s) of the first " + c.promptTokens() + " tokens of a window"
                        + (c.limit() == null ? "" : " (--limit " + c.limit() + ": the smallest window ids)") + " x "
                        + c.samplesPerPrompt() + " sample(s), up to " + c.tokens() + " tokens each: at most "
                        + prompts * c.samplesPerPrompt() * c.tokens() + " tokens, " + prompts * c.samplesPerPrompt()
                        + " documents")
                .with("out", storage.qualify(c.out()) + " (" + StagedOutput.describe(storage, c.out(), c.mode())
                        + ")");
    }

    /** Samples the teacher's continuations of the prompts and publishes them as a text transfer set. */
    public JobResult run(GenerateConfig c) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        Checked k = check(storage, c);
        String sha = k.sha256(c);
        TeacherLms.share(sha, k.lm());
        int partitions = c.partitions() > 0 ? c.partitions() : spark.sparkContext().defaultParallelism();
        Dataset<Row> prompts = TransferTables.readTransfer(spark, k.prompts()).rows()
                .select(col(TextTransferSchema.ID), col(TextTransferSchema.TOKENS), col(TextTransferSchema.SCORED_TO));
        if (c.limit() != null) {
            prompts = prompts.orderBy(TextTransferSchema.ID).limit(c.limit());
        }
        prompts = prompts.repartition(partitions, col(TextTransferSchema.ID));
        Broadcast<ModelFile> file = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(k.teacher().file());
        Continuations sampler = new Continuations(sha, file, c.teacherOutput(), k.vocabulary().size(),
                k.windowing().length(), c);
        LOG.info("generating from {} prompt(s) of {} with teacher LM {} (sha256 {}; {}; decoding {}): {} sample(s) of up"
                + " to {} tokens each, temperature {}, top-p {}, seed {}, over {} tasks", k.promptWindows(c),
                k.prompts().path(), k.teacher().zipPath(), sha, k.lm().describe(), k.decoding(),
                c.samplesPerPrompt(), c.tokens(), c.temperature(), c.topP(), c.seed(), partitions);
        // sampled once: the statistics and the windows both read the persisted samples
        JavaRDD<Row> generated = prompts.javaRDD().mapPartitions(sampler).persist(StorageLevel.MEMORY_AND_DISK());
        try (Progress progress = Progress.watch(spark.sparkContext(), "generate", 10)) {
            Map<String, Long> stats = stats(generated, k.windowing());
            LOG.info("generate: {}", stats);
            logExample(spark.createDataFrame(generated, Continuations.SCHEMA), k.vocabulary());
            return publish(storage, c, k, sha, generated, stats, start);
        } finally {
            generated.unpersist(false);
        }
    }

    /** Documents, characters, unknown characters, windows and scored tokens (as ingest counts them), and sampling's. */
    private static Map<String, Long> stats(JavaRDD<Row> generated, Windowing windowing) {
        int length = windowing.length();
        int burnIn = windowing.burnIn();
        long[] sums = generated.mapPartitions(it -> {
            Windowing w = new Windowing(length, burnIn);
            long[] a = new long[STATS.size()];
            while (it.hasNext()) {
                Row r = it.next();
                int[] stream = (int[]) r.get(4); // as the sampler made it
                a[0]++;
                a[1] += java.util.Arrays.stream(stream).filter(t -> t != CharVocabulary.BOUNDARY).count();
                a[2] += CharVocabulary.unknown(stream);
                a[3] += w.windows(stream.length - 1);
                a[4] += stream.length - 1;
                a[5] += r.getInt(3);
                a[6] += stream.length - r.getInt(3);
                a[7] += r.getBoolean(5) ? 1 : 0;
            }
            return List.of(a).iterator();
        }).fold(new long[STATS.size()], (x, y) -> {
            long[] s = new long[STATS.size()];
            for (int i = 0; i < s.length; i++) {
                s[i] = x[i] + y[i];
            }
            return s;
        });
        Map<String, Long> out = new LinkedHashMap<>();
        for (int i = 0; i < STATS.size(); i++) {
            out.put(STATS.get(i), sums[i]);
        }
        return out;
    }

    /** One generated document in the log, so a run shows what the teacher writes. */
    private static void logExample(Dataset<Row> generated, CharVocabulary vocabulary) {
        List<Row> first = generated.orderBy("prompt", "sample").limit(1).collectAsList();
        if (!first.isEmpty()) {
            int[] stream = TransferTables.ints(first.get(0), 4);
            int p = first.get(0).getInt(3);
            LOG.info("generate: e.g. prompt {} -> {}", quoted(vocabulary, java.util.Arrays.copyOf(stream, p)),
                    quoted(vocabulary, java.util.Arrays.copyOfRange(stream, p, stream.length)));
        }
    }

    private static String quoted(CharVocabulary vocabulary, int[] ids) {
        return Manifest.oneLine(vocabulary.decode(ids));
    }

    private JobResult publish(Storage storage, GenerateConfig c, Checked k, String sha, JavaRDD<Row> generated,
                              Map<String, Long> stats, long start) {
        int length = k.windowing().length();
        int burnIn = k.windowing().burnIn();
        JavaRDD<Row> keyed = generated.flatMap(r -> {
            Windowing w = new Windowing(length, burnIn);
            List<Row> out = new ArrayList<>();
            for (Windowing.Window window : w.cut((int[]) r.get(4))) {
                out.add(TextWindows.keyed(r.getString(0), window));
            }
            return out.iterator();
        });
        try (StagedOutput out = StagedOutput.begin(storage, c.out(), c.mode())) {
            TransferTables.write(TextWindows.table(spark, keyed).orderBy(TextTransferSchema.ID), out.stagingDir());
            long written = TransferTables.countRows(spark, out.stagingDir());
            if (written != stats.get("windows")) {
                throw new IllegalStateException("internal error: wrote " + written + " windows, expected "
                        + stats.get("windows"));
            }
            Map<String, Manifest.Input> inputs = new LinkedHashMap<>();
            inputs.put("prompts", k.prompts().asInput());
            inputs.put("teacher", k.teacher().asInput());
            Manifest manifest = Manifest.sealed("generate", c, inputs, facts(c, k, sha, written, stats),
                    Versions.current(), java.time.Instant.now().toString());
            return out.publish(manifest, written, start);
        }
    }

    private static Map<String, Object> facts(GenerateConfig c, Checked k, String sha, long rows,
                                             Map<String, Long> stats) {
        Manifest p = k.prompts().manifest();
        Map<String, Object> generation = new LinkedHashMap<>();
        generation.put("teacherSha256", sha);
        generation.put("teacherSource", k.teacher().zipPath());
        generation.put("teacherFormat", k.teacher().format().label());
        generation.put("teacherOutput", c.teacherOutput());
        generation.put("teacherVocabulary", k.vocabularyRecord());
        generation.put("decoding", k.decoding());
        generation.put("promptsPath", k.prompts().path());
        generation.put("promptsManifest", p.id());
        generation.put("prompts", stats.get("documents") / c.samplesPerPrompt());
        generation.put("promptTokens", c.promptTokens());
        generation.put("tokensPerPrompt", c.tokens());
        generation.put("samplesPerPrompt", c.samplesPerPrompt());
        generation.put("temperature", c.temperature());
        generation.put("topP", c.topP());
        generation.put("seed", c.seed());
        generation.put("limit", c.limit());
        generation.put("generatedTokens", stats.get("generatedTokens"));
        generation.put("promptTokensTotal", stats.get("promptTokens"));
        generation.put("endedDocuments", stats.get("endedDocuments"));
        generation.put("rng", "sample s of the prompt in window i draws from java.util.Random(rank(rank(seed, i), s)),"
                + " rank = SplitMix64 finaliser of seed x 0x9E3779B97F4A7C15 + id");
        Map<String, Object> f = Manifest.facts(
                TextTransferSchema.SCHEMA_VERSION, TextTransferSchema.VERSION,
                TextTransferSchema.WINDOW_LENGTH, k.windowing().length(),
                TextTransferSchema.BURN_IN, k.windowing().burnIn(),
                TextTransferSchema.VOCABULARY, k.vocabulary().codePoints(),
                TextTransferSchema.VOCABULARY_SIZE, k.vocabulary().size(),
                TextTransferSchema.VOCABULARY_SHA256, k.vocabulary().sha256(),
                "ids", "document: xxhash64(document_key), window: xxhash64(document_key, window) (Spark SQL, seed 42);"
                        + " document_key: generate:seed=SEED:prompt=WINDOW_ID#SAMPLE",
                "split", "generated",
                "rows", rows,
                "generation", generation);
        for (String s : List.of("documents", "characters", "unknownCharacters", "windows", "scoredTokens")) {
            f.put(s, stats.get(s));
        }
        return f;
    }
}
