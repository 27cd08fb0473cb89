package org.distillery.jobs.label;

import static org.apache.spark.sql.functions.col;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.PartitionedTable;
import org.distillery.jobs.common.Progress;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.TeacherLms;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TokenTables;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.model.nn.LanguageModels;
import org.distillery.model.nn.ModelFile;
import org.distillery.model.nn.TokenLogitFunction;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.schema.TokenSoftTargetCodec;
import org.distillery.model.schema.TokenSoftTargetSchema;
import org.distillery.model.text.CharVocabulary;
import org.distillery.model.text.Windowing;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code label} over a text transfer set ({@link TextTransferSchema}, told by its manifest's
 * {@code textSchemaVersion}): a teacher LM (an ONNX causal LM or a DL4J LSTM LM zip, {@link LanguageModels#teacher})
 * stores its next-token logits at every scored position of every window as {@link TokenSoftTargetSchema} rows, in the
 * run's layout (fp32 or fp16; every token, or the top K with the tail's log-sum-exp), with a quality report
 * ({@link TokenReports}). Checked before Spark reads a row, each refused in one line: a window longer than the
 * teacher's fixed context, a teacher whose output width is not the vocabulary size, a vocabulary whose SHA-256 is not
 * the one the teacher was trained with (as the teacher's manifest records it, or {@code --vocabulary-sha256}), K larger
 * than the vocabulary, and the options that have no meaning for text (ensembles, hints, the soft column, partitions).
 *
 * <p>{@code --mode incremental}: windows whose id and input hash (tokens and scored range) are those of the output
 * being replaced keep their stored rows; only new and changed windows go through the teacher. Another teacher or
 * layout relabels every window; another T alone relabels none (the stored logits are raw).
 */
final class TokenLabel {
    private static final Logger LOG = LoggerFactory.getLogger(TokenLabel.class);
    private final SparkSession spark;

    TokenLabel(SparkSession spark) {
        this.spark = spark;
    }

    /** Whether {@code transfer} is one published text transfer set (read from its manifest, no Spark). */
    static boolean isText(Storage storage, String transfer) {
        if (PartitionedTable.isPartitioned(storage, transfer)) {
            return false;
        }
        return storage.exists(transfer + "/" + Manifest.SUCCESS)
                && storage.publishedManifest(transfer).facts().containsKey(TextTransferSchema.SCHEMA_VERSION);
    }

    /** What {@link #check} established: the transfer set, its windowing and vocabulary, the teacher and layout. */
    record Checked(ResolvedInput transfer, Windowing windowing, CharVocabulary vocabulary, ModelArtifact teacher,
                   TokenLogitFunction lm, String vocabularyRecord, SoftTargetLayout layout) {
        /** The teacher's SHA-256, or with an ONNX output named, that of {@code SHA256#OUTPUT} (as image labels). */
        String sha256(LabelConfig config) {
            String output = config.teacherOutput(0);
            return output == null ? teacher.sha256() : org.distillery.model.nn.Models.sha256((teacher.sha256() + "#"
                    + output).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    /** Every rule of a text label run, checked before Spark reads a row; a dry run stops here. */
    static Checked check(Storage storage, LabelConfig config) {
        StagedOutput.check(storage, config.out(), config.mode());
        refuseImageOptions(config);
        ResolvedInput transfer = ResolvedInput.output(storage, config.transfer());
        Manifest m = transfer.manifest();
        Windowing windowing = TextTransferSchema.windowing(m);
        CharVocabulary vocabulary = TextTransferSchema.vocabulary(m);
        int v = vocabulary.size();
        Integer topK = config.stored().topK();
        if (topK != null && topK > v) {
            throw new IllegalArgumentException("--top-k " + topK + " is larger than the vocabulary of "
                    + config.transfer() + " (" + v + " tokens): K must be in [1, " + v + "]");
        }
        ModelArtifact teacher = ModelArtifact.read(storage, config.teachers().paths().get(0));
        List<String> pins = config.teachers().sha256s();
        if (!pins.isEmpty() && !pins.get(0).equals(teacher.sha256())) {
            throw new IllegalArgumentException("teacher SHA-256 mismatch: --teacher-sha256 " + pins.get(0) + " but "
                    + teacher.zipPath() + " has " + teacher.sha256());
        }
        String record = checkVocabulary(config, teacher, vocabulary);
        TokenLogitFunction lm = LanguageModels.teacher(teacher.file(), config.teacherOutput(0), v);
        if (lm.context().isPresent() && lm.context().getAsInt() < windowing.length()) {
            lm.close();
            throw new IllegalArgumentException("the windows of " + config.transfer() + " (" + windowing.length()
                    + " tokens) are longer than the fixed context of teacher LM " + teacher.zipPath() + " ("
                    + lm.context().getAsInt() + " tokens)");
        }
        SoftTargetLayout layout = TokenSoftTargetSchema.layout(v, config.stored().precision(), config.stored().topK());
        return new Checked(transfer, windowing, vocabulary, teacher, lm, record, layout);
    }

    private static void refuseImageOptions(LabelConfig config) {
        int teachers = config.teachers().paths().size();
        LabelConfig.Stored stored = config.stored();
        String refused = teachers > 1 ? teachers + " teachers (an ensemble)"
                : stored.hintLayer() != null ? "--hint-layer " + stored.hintLayer()
                : Boolean.TRUE.equals(stored.soft()) ? "--soft"
                : !config.partitions().isEmpty() ? "--partition " + String.join(",", config.partitions()) : null;
        if (refused != null) {
            throw new IllegalArgumentException(config.transfer() + " is a text transfer set, labelled by one teacher"
                    + " LM without a soft column, hint or partitions; got " + refused);
        }
    }

    /** The vocabulary rule ({@link TeacherLms#checkVocabulary}); where the teacher's vocabulary came from. */
    private static String checkVocabulary(LabelConfig config, ModelArtifact teacher, CharVocabulary vocabulary) {
        return TeacherLms.checkVocabulary(teacher, config.teachers().vocabularySha256(), config.transfer(), vocabulary);
    }

    /** Checks everything a run would, without Spark, and says what it would do. */
    static DryRun dryRun(Storage storage, LabelConfig config) {
        Checked c = check(storage, config);
        String lm = c.lm().describe();
        c.lm().close(); // a dry run only describes the teacher
        Manifest m = c.transfer().manifest();
        return new DryRun("label")
                .with("transfer", c.transfer().path() + " (text, manifest " + m.id() + ", " + (long) m.number("rows")
                        + " windows of " + c.windowing().length() + " tokens, vocabulary " + c.vocabulary().size()
                        + " ids, sha256 " + c.vocabulary().sha256() + ")")
                .with("teacher", c.teacher().zipPath() + " (" + c.teacher().format().label() + ", sha256 "
                        + c.teacher().sha256() + ", " + lm + "; vocabulary " + c.vocabularyRecord()
                        + ")")
                .with("temperature", config.temperature())
                .with("calls", windowsPerCall(config, c) + " windows per teacher call (--batch-size "
                        + config.batchSize() + " tokens)")
                .with("storage", TokenSoftTargetSchema.describe(c.layout()))
                .with("out", storage.qualify(config.out()) + " ("
                        + StagedOutput.describe(storage, config.out(), config.mode()) + ")");
    }

    private static int windowsPerCall(LabelConfig config, Checked c) {
        return Math.max(1, config.batchSize() / c.windowing().length());
    }

    /** Labels the text transfer set of {@code config} and publishes its token soft targets. */
    JobResult run(LabelConfig config, long start) {
        Storage storage = Storage.of(spark);
        Checked c = check(storage, config);
        String sha = c.sha256(config);
        String teacherLm = c.lm().describe();
        if (!TokenInference.share(sha, c.lm())) {
            c.lm().close(); // the executors load their own
        }
        Dataset<Row> input = spread(TransferTables.readTransfer(spark, c.transfer()).rows()
                .select(TokenTables.INPUT.stream().map(org.apache.spark.sql.functions::col)
                        .toArray(org.apache.spark.sql.Column[]::new))
                .withColumn(TokenSoftTargetSchema.INPUT_HASH, TokenTables.inputHash()));
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<ModelFile> file = jsc.broadcast(c.teacher().file());
        int windowsPerCall = windowsPerCall(config, c);
        TokenInference inference = new TokenInference(sha, file, config.teacherOutput(0), c.vocabulary().size(),
                c.windowing().length(), windowsPerCall, new TokenSoftTargetCodec(c.layout()));
        LOG.info("labeling text {} with teacher LM {} (sha256 {}), T={}, storing {}, {} windows per call; {}",
                c.transfer().path(), c.teacher().zipPath(), sha, config.temperature(),
                TokenSoftTargetSchema.describe(c.layout()), windowsPerCall, teacherLm);
        String fullRelabel = fullRelabelReason(storage, config, c, sha);
        if (config.mode() == PublishMode.INCREMENTAL) {
            LOG.info("incremental: {}", fullRelabel == null ? "reusing the stored rows of unchanged windows of "
                    + storage.qualify(config.out()) : "relabeling every window: " + fullRelabel);
        }
        Dataset<Row> labelled = fullRelabel != null ? labelAll(inference, input, c.layout())
                : labelChanged(inference, input, c.layout(), storage.qualify(config.out()));
        try (StagedOutput out = StagedOutput.begin(storage, config.out(), config.mode());
             Progress progress = Progress.watch(spark.sparkContext(), "label", 10)) {
            try {
                TransferTables.write(labelled, out.stagingDir());
            } catch (Exception e) {
                throw TransferTables.explain(e, c.transfer().path());
            }
            Dataset<Row> written = TransferTables.readStaged(spark, out.stagingDir());
            Row summary = TransferTables.contentSummary(written);
            long rows = summary.getLong(0);
            long expected = (long) c.transfer().manifest().number("rows");
            if (rows != expected) {
                throw new RuntimeException("internal error: wrote " + rows + " token soft-target rows for " + expected
                        + " windows");
            }
            Map<String, Object> quality = TokenReports.quality(written, c.layout(), config.temperature());
            storage.writeText(out.path(LabelReports.QUALITY), Manifest.json(quality));
            Map<String, Object> drift = drift(storage, config, c, written, rows, sha);
            if (drift != null) {
                storage.writeText(out.path(LabelReports.DRIFT), Manifest.json(drift));
            }
            Object incremental = incrementalFacts(config, fullRelabel, written, storage.qualify(config.out()), rows);
            Map<String, Object> facts = facts(config, c, sha, rows, summary, quality, incremental);
            facts.put("drift", drift == null ? "none (no previous output)" : Map.of(
                    "previousManifest", drift.get("previousManifest"),
                    "windowsChanged", drift.get("windowsChanged"), "top1Flips", drift.get("top1Flips"),
                    "meanKlPreviousToNew", String.valueOf(drift.get("meanKlPreviousToNew"))));
            Manifest manifest = Manifest.sealed("label", config, inputs(c), facts, Versions.current(),
                    java.time.Instant.now().toString());
            JobResult result = out.publish(manifest, rows, start);
            LOG.info("labelled {} windows, {} scored tokens in {} s ({} tokens/s); teacher bits/char {}", rows,
                    quality.get("scoredTokens"), String.format("%.1f", result.seconds()),
                    Math.round(((Number) quality.get("scoredTokens")).doubleValue() / result.seconds()),
                    quality.get("teacherBitsPerChar"));
            return result;
        } finally {
            file.destroy();
        }
    }

    /**
     * The drift report against the token soft targets this run replaces, or null when there is none to compare with
     * (not a replacing mode, nothing published, not token soft targets, or another vocabulary: the same position
     * would be other tokens' logits).
     */
    private Map<String, Object> drift(Storage storage, LabelConfig config, Checked c, Dataset<Row> written,
                                      long rows, String sha) {
        String target = storage.qualify(config.out());
        if (!config.mode().replaces() || !storage.exists(target + "/" + Manifest.SUCCESS)) {
            return null;
        }
        Manifest previous = storage.publishedManifest(target);
        if (!"label".equals(previous.job()) || !TokenSoftTargetSchema.is(previous)) {
            return null;
        }
        if (!c.vocabulary().sha256().equals(previous.facts().get(TextTransferSchema.VOCABULARY_SHA256))) {
            LOG.warn("no drift report: the previous output's vocabulary ({}) is not this one's ({})",
                    previous.facts().get(TextTransferSchema.VOCABULARY_SHA256), c.vocabulary().sha256());
            return null;
        }
        SoftTargetLayout before;
        try {
            before = TokenSoftTargetSchema.layout(previous, target);
        } catch (IllegalStateException e) {
            LOG.warn("no drift report: the output being replaced is not readable by this build ({})", e.getMessage());
            return null;
        }
        Map<String, Object> d = TokenReports.drift(TransferTables.readPublished(spark, target),
                (long) previous.number("rows"), before, written, rows, c.layout(), config.temperature(), previous.id(),
                String.valueOf(previous.facts().get(TokenSoftTargetSchema.TEACHER_SHA256)), sha);
        LOG.info("label drift against the previous output (manifest {}): {} of {} windows changed ({} of {} tokens),"
                + " {} top-1 flips, mean KL(previous || new) {} per token", previous.id(), d.get("windowsChanged"),
                d.get("windowsCompared"), d.get("tokensChanged"), d.get("tokensCompared"), d.get("top1Flips"),
                d.get("meanKlPreviousToNew"));
        return d;
    }

    /**
     * The windows spread evenly over at least as many partitions as Spark runs tasks at once, always through a
     * shuffle: a split is often one Parquet file of one row group, which Spark may cut into several partitions of
     * which one holds every row, and the teacher is the whole cost (the shuffle moves a few hundred bytes per window).
     */
    private Dataset<Row> spread(Dataset<Row> input) {
        int parallelism = spark.sparkContext().defaultParallelism();
        return input.repartition(Math.max(parallelism, input.rdd().getNumPartitions()));
    }

    private Dataset<Row> labelAll(TokenInference inference, Dataset<Row> input, SoftTargetLayout layout) {
        return spark.createDataFrame(input.javaRDD().mapPartitions(inference), TokenTables.schema(layout));
    }

    /**
     * New and changed windows through the teacher; the others' rows taken as stored from the previous output
     * {@code previous} (same teacher and layout, so the same columns), in id order.
     */
    private Dataset<Row> labelChanged(TokenInference inference, Dataset<Row> input, SoftTargetLayout layout,
                                      String previous) {
        Dataset<Row> prev = TransferTables.readPublished(spark, previous);
        Dataset<Row> prevKeys = prev.select(col(TokenSoftTargetSchema.ID).as("p_id"),
                col(TokenSoftTargetSchema.INPUT_HASH).as("p_hash"));
        Dataset<Row> changed = input.join(prevKeys, col(TextTransferSchema.ID).equalTo(col("p_id"))
                .and(col(TokenSoftTargetSchema.INPUT_HASH).equalTo(col("p_hash"))), "left_anti");
        Dataset<Row> keys = input.select(col(TextTransferSchema.ID).as("k_id"),
                col(TokenSoftTargetSchema.INPUT_HASH).as("k_hash"));
        Dataset<Row> kept = prev.select(TokenSoftTargetSchema.columns(layout).stream().map(org.apache.spark.sql.functions::col)
                        .toArray(org.apache.spark.sql.Column[]::new))
                .join(keys, col(TokenSoftTargetSchema.ID).equalTo(col("k_id"))
                        .and(col(TokenSoftTargetSchema.INPUT_HASH).equalTo(col("k_hash"))), "left_semi");
        Dataset<Row> fresh = spark.createDataFrame(changed.javaRDD().mapPartitions(inference),
                TokenTables.schema(layout));
        return kept.unionByName(fresh).orderBy(TokenSoftTargetSchema.ID);
    }

    /**
     * Why every window goes through the teacher (null: unchanged windows keep their stored rows): not incremental, no
     * previous token output, another teacher, another layout. T is not compared: the stored logits are raw.
     */
    private static String fullRelabelReason(Storage storage, LabelConfig config, Checked c, String sha) {
        String target = storage.qualify(config.out());
        if (config.mode() != PublishMode.INCREMENTAL) {
            return "mode " + config.mode().id();
        }
        if (!storage.exists(target + "/" + Manifest.SUCCESS)) {
            return "no published output at " + target;
        }
        Manifest m = storage.publishedManifest(target);
        if (!"label".equals(m.job()) || !TokenSoftTargetSchema.is(m)) {
            return "the output at " + target + " is not token soft targets";
        }
        if (!sha.equals(m.facts().get(TokenSoftTargetSchema.TEACHER_SHA256))) {
            return "the teacher changed (" + m.facts().get(TokenSoftTargetSchema.TEACHER_SHA256) + " -> " + sha + ")";
        }
        SoftTargetLayout before = TokenSoftTargetSchema.layout(m, target);
        if (!before.equals(c.layout())) {
            return "the storage layout changed (" + before.describe() + " -> " + c.layout().describe() + ")";
        }
        return null;
    }

    /**
     * The manifest's {@code incremental} fact, as image labels record it: "no (every row labelled)" outside
     * incremental mode, else the windows reused and relabelled, or why every window was labelled.
     */
    private Object incrementalFacts(LabelConfig config, String fullRelabel, Dataset<Row> written, String target,
                                    long rows) {
        if (config.mode() != PublishMode.INCREMENTAL) {
            return "no (every row labelled)";
        }
        Map<String, Object> m = new LinkedHashMap<>();
        if (fullRelabel != null) {
            m.put("fullRelabel", fullRelabel);
            m.put("relabelledRows", rows);
            return m;
        }
        Dataset<Row> prev = TransferTables.readPublished(spark, target).select(col(TokenSoftTargetSchema.ID).as("p_id"),
                col(TokenSoftTargetSchema.INPUT_HASH).as("p_hash"));
        long reused = written.join(prev, col(TokenSoftTargetSchema.ID).equalTo(col("p_id"))
                .and(col(TokenSoftTargetSchema.INPUT_HASH).equalTo(col("p_hash")))).count();
        m.put("previousManifest", Storage.of(spark).publishedManifest(target).id());
        m.put("reusedRows", reused);
        m.put("relabelledRows", rows - reused);
        LOG.info("incremental: {} windows reused, {} relabeled (new or changed)", reused, rows - reused);
        return m;
    }

    private static Map<String, Manifest.Input> inputs(Checked c) {
        Map<String, Manifest.Input> inputs = new LinkedHashMap<>();
        inputs.put("transfer", c.transfer().asInput());
        inputs.put("teacher", c.teacher().asInput());
        return inputs;
    }

    private static Map<String, Object> facts(LabelConfig config, Checked c, String sha, long rows, Row summary,
                                             Map<String, Object> quality, Object incremental) {
        Manifest t = c.transfer().manifest();
        Map<String, Object> f = Manifest.facts("rows", rows, "scoredTokens", quality.get("scoredTokens"),
                SoftTargetSchema.TEMPERATURE, config.temperature(),
                TokenSoftTargetSchema.TEACHER_SHA256, sha,
                "teacherFormat", c.teacher().format().label(),
                "teacherBitsPerChar", quality.get("teacherBitsPerChar"),
                "teacherVocabulary", c.vocabularyRecord(),
                TextTransferSchema.VOCABULARY_SHA256, c.vocabulary().sha256(),
                TextTransferSchema.WINDOW_LENGTH, c.windowing().length(),
                TextTransferSchema.BURN_IN, c.windowing().burnIn(),
                "contentHash", TransferTables.contentHash(summary),
                "incremental", incremental);
        f.put(TokenSoftTargetSchema.TEACHER_OUTPUT, config.teacherOutput(0)); // null: the model's only/"logits" output
        f.putAll(TokenSoftTargetSchema.facts(c.layout()));
        f.put(TextTransferSchema.VOCABULARY, t.facts().get(TextTransferSchema.VOCABULARY));
        return f;
    }
}
