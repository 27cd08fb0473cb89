package org.distillery.jobs.evaluate;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.jobs.export.OnnxModels;
import org.distillery.jobs.train.LmWindows;
import org.distillery.model.nn.LanguageModels;
import org.distillery.model.nn.LmDecoder;
import org.distillery.model.nn.ModelFormat;
import org.distillery.model.nn.TokenLogitFunction;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.text.CharVocabulary;
import org.distillery.model.text.NextTokenMetrics;
import org.distillery.model.text.TokenAgreement;
import org.distillery.model.text.Windowing;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Evaluate over a text test split (ingest --format text): the teacher LM and each student LM scored on the split's
 * scored tokens (burn-in and padding left out) with model-lib's accumulators, {@link NextTokenMetrics} (bits/char,
 * perplexity, next-token accuracy and ECE) and {@link TokenAgreement} (top-1/top-5 agreement with the teacher and mean
 * KL(teacher || student) at T = 1), then timed and sampled by {@link LmTiming}.
 *
 * <p>Everything is computed on the driver, as the classifier evaluation does ({@code LabelledSet.collect}): Spark reads
 * the split's Parquet files, and the windows are collected. A test split is a small held-out slice of a corpus
 * (a few thousand windows of int ids), scoring it is a few forward passes per model, every model must see the very
 * same windows as the teacher (agreement and KL are per token), and latency must be measured in one JVM anyway;
 * shipping every model to executors would cost more than it saves.
 *
 * <p>The reference of agreement and KL is pinned as for classifiers ({@link TeacherPin}); students trained with
 * objective hard record no teacher, so without {@code --teacher} their agreement and KL are not measured (null in the
 * report, "-" in the table).
 */
final class LmEvaluation {
    private static final Logger LOG = LoggerFactory.getLogger(LmEvaluation.class);
    private static final int SCORING_BATCH = 64;

    private LmEvaluation() {
    }

    /** Whether the published output at {@code path} is a text transfer set (its manifest says so). */
    static boolean isText(Storage storage, String path) {
        return ResolvedInput.published(storage, path).manifest().facts().containsKey(TextTransferSchema.SCHEMA_VERSION);
    }

    /** What a run scores: the text test split, its vocabulary and windowing, the models (teacher first, if any). */
    record Checked(ResolvedInput test, CharVocabulary vocabulary, Windowing windowing,
                   Map<String, ModelArtifact> artifacts, String teacherOutput) {
    }

    /** Every rule of an LM evaluation, from manifests and model files, before Spark reads a row. */
    static Checked check(Storage storage, EvaluateConfig config, PublishMode mode) {
        OutputRule.of(storage).input("--test", config.test()).input("--teacher", config.teacher())
                .inputs("--model", config.models().values()).check("--out", config.out());
        StagedOutput.check(storage, config.out(), mode);
        ResolvedInput test = ResolvedInput.published(storage, config.test());
        TextTransferSchema.check(test.manifest());
        if (test.manifest().facts().get("rows") instanceof Number n && n.longValue() == 0) {
            throw new IllegalArgumentException("text test split is empty (0 windows): " + config.test());
        }
        if (config.validation() != null) {
            throw new IllegalArgumentException("--validation fits calibration of classifiers; a text test split "
                    + config.test() + " is scored by language models without it (next-token ECE is reported)");
        }
        CharVocabulary vocabulary = TextTransferSchema.vocabulary(test.manifest());
        Map<String, ModelArtifact> models = new LinkedHashMap<>();
        config.models().forEach((name, path) -> models.put(name, ModelArtifact.read(storage, path)));
        models.forEach((name, artifact) -> requireLm(name, artifact, config.test(), vocabulary));
        Map<String, ModelArtifact> artifacts = new LinkedHashMap<>();
        String teacherOutput = null;
        if (config.teacher() != null || TeacherPin.of(storage, models) != null) {
            EvaluateJob.Reference teacher = EvaluateJob.teacher(storage, config, models);
            if (teacher != null) {
                requireLm("teacher", teacher.artifact(), config.test(), vocabulary);
                OutputRule.of(storage).input("--teacher", teacher.artifact().path()).check("--out", config.out());
                artifacts.put("teacher", teacher.artifact());
                teacherOutput = teacher.output();
            }
        } else {
            LOG.info("no --teacher, and no --model was distilled from soft targets that name one: agreement and KL"
                    + " are not measured");
        }
        artifacts.putAll(models);
        for (Map.Entry<String, ModelArtifact> e : artifacts.entrySet()) { // reads, and checks the output width
            close(load(e.getKey(), e.getValue(), teacherOutput, vocabulary.size()));
        }
        return new Checked(test, vocabulary, TextTransferSchema.windowing(test.manifest()), artifacts, teacherOutput);
    }

    /** A model of a text evaluation must be a language model over the test split's vocabulary. */
    private static void requireLm(String name, ModelArtifact artifact, String test, CharVocabulary vocabulary) {
        Manifest m = artifact.manifest();
        if (m == null) {
            return; // a bare DL4J zip or ONNX causal LM: its output width is checked when it is read
        }
        if (!"lm".equals(m.facts().get("task"))) {
            throw new IllegalArgumentException("model " + name + " is a classifier, not a language model: "
                    + artifact.path() + "; the test split " + test + " is text (train --task lm makes LMs for it)");
        }
        Object sha = m.facts().get(TextTransferSchema.VOCABULARY_SHA256);
        if (!vocabulary.sha256().equals(sha)) {
            throw new IllegalArgumentException("model " + name + " was trained on vocabulary " + sha + " ("
                    + m.facts().get(TextTransferSchema.VOCABULARY_SIZE) + " ids), but the test split's is "
                    + vocabulary.sha256() + " (" + vocabulary.size() + " ids): " + artifact.path());
        }
    }

    /** A model read for scoring: its token logits and, for a DL4J LSTM LM, its network (for stepping and counting). */
    private record Loaded(TokenLogitFunction lm, MultiLayerNetwork network) {
    }

    private static Loaded load(String name, ModelArtifact artifact, String teacherOutput, int vocabulary) {
        if (artifact.format() != ModelFormat.DL4J_ZIP) {
            return new Loaded(LanguageModels.teacher(artifact.file(), name.equals("teacher") ? teacherOutput : null,
                    vocabulary), null);
        }
        MultiLayerNetwork net = artifact.network();
        if (!(net.getLayerWiseConfigurations().getConf(0).getLayer() instanceof EmbeddingSequenceLayer)) {
            throw new IllegalArgumentException("model " + name + " is not a language model (its first layer is a "
                    + net.getLayerWiseConfigurations().getConf(0).getLayer().getClass().getSimpleName()
                    + ", not an embedding of token ids): " + artifact.path() + "; the test split is text");
        }
        TokenLogitFunction lm = LanguageModels.of(net);
        if (lm.vocabulary() != vocabulary) {
            throw new IllegalArgumentException("model " + name + " scores " + lm.vocabulary() + " tokens, but the test"
                    + " split's vocabulary has " + vocabulary + ": " + artifact.path());
        }
        return new Loaded(lm, net);
    }

    private static void close(Loaded loaded) {
        if (loaded.lm() instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("closing {}: {}", loaded.lm().describe(), e.toString());
            }
        }
    }

    static DryRun dryRun(Storage storage, EvaluateConfig config, PublishMode mode) {
        Checked checked = check(storage, config, mode);
        Manifest test = checked.test().manifest();
        DryRun plan = new DryRun("evaluate").with("test", checked.test().path() + " (manifest " + test.id() + ", "
                + (long) test.number("rows") + " text windows, vocabulary " + checked.vocabulary().size() + " ids)");
        checked.artifacts().forEach((name, a) -> plan.with(name, a.zipPath() + " (sha256 " + a.sha256() + ")"));
        if (!checked.artifacts().containsKey("teacher")) {
            plan.with("teacher", "none: agreement and KL not measured");
        }
        return plan.with("out", storage.qualify(config.out()) + " ("
                + StagedOutput.describe(storage, config.out(), mode) + ")");
    }

    static EvaluateJob.Result run(SparkSession spark, EvaluateConfig config, PublishMode mode) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        Checked c = check(storage, config, mode);
        int v = c.vocabulary().size();
        List<Windowing.Window> windows = LmWindows.collect(TransferTables.readTransfer(spark, c.test()).rows(), v,
                c.windowing().length());
        Map<String, Loaded> loaded = new LinkedHashMap<>();
        c.artifacts().forEach((name, a) -> loaded.put(name, load(name, a, c.teacherOutput(), v)));
        Map<String, NextTokenMetrics> metrics = new LinkedHashMap<>();
        Map<String, TokenAgreement> agreement = new LinkedHashMap<>();
        score(windows, loaded, metrics, agreement);
        int[] prompt = prompt(windows);
        EvaluateConfig.Lm settings = config.lmSettings();
        Map<String, Map<String, Object>> report = new LinkedHashMap<>();
        Map<String, Manifest.Input> inputs = new LinkedHashMap<>();
        inputs.put("test", c.test().asInput());
        for (Map.Entry<String, Loaded> e : loaded.entrySet()) {
            String name = e.getKey();
            ModelArtifact artifact = c.artifacts().get(name);
            report.put(name, entry(artifact, e.getValue(), metrics.get(name), agreement.get(name), windows, prompt,
                    config, c));
            inputs.put(name, artifact.asInput());
            close(e.getValue());
            LOG.info("scored {}: {} bits/char over {} tokens", name, report.get(name).get("bits_per_char"),
                    metrics.get(name).tokens());
        }
        long tokens = metrics.values().iterator().next().tokens();
        String table = Report.lmTable(report) + Report.samplesTable(report, c.vocabulary().decode(prompt),
                settings);
        try (StagedOutput out = StagedOutput.begin(storage, config.out(), mode)) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("task", "lm");
            doc.put("test", c.test().path());
            doc.put("test_windows", windows.size());
            doc.put("scored_tokens", tokens);
            doc.put("vocabulary_sha256", c.vocabulary().sha256());
            doc.put("prompt", c.vocabulary().decode(prompt));
            doc.put("sampling", Map.of("temperature", settings.sampleTemperature(), "top_p", settings.topP(),
                    "seed", settings.seed(), "tokens", settings.sampleTokens()));
            doc.put("models", report);
            storage.writeText(out.path(EvaluateJob.REPORT), Manifest.json(doc));
            Manifest manifest = Manifest.sealed("evaluate", config, inputs, Manifest.facts("task", "lm",
                    "rows", (long) windows.size(), "scoredTokens", tokens, "models", report.keySet().stream().toList()),
                    Versions.current(), java.time.Instant.now().toString());
            return new EvaluateJob.Result(out.publish(manifest, windows.size(), start), report, table);
        }
    }

    /**
     * One pass over the windows in batches: the teacher's logits once per batch, each model's next-token metrics and,
     * when there is a teacher, its agreement with the teacher on the same positions.
     */
    private static void score(List<Windowing.Window> windows, Map<String, Loaded> models,
                              Map<String, NextTokenMetrics> metrics, Map<String, TokenAgreement> agreement) {
        Loaded teacher = models.get("teacher");
        models.keySet().forEach(name -> {
            metrics.put(name, new NextTokenMetrics(NextTokenMetrics.DEFAULT_BINS));
            if (teacher != null) {
                agreement.put(name, new TokenAgreement());
            }
        });
        for (int from = 0; from < windows.size(); from += SCORING_BATCH) {
            List<Windowing.Window> batch = windows.subList(from, Math.min(windows.size(), from + SCORING_BATCH));
            int t = batch.get(0).inputs().length;
            int[][] ids = new int[batch.size()][];
            int[][] targets = new int[batch.size()][];
            float[] m = new float[batch.size() * t];
            for (int i = 0; i < batch.size(); i++) {
                ids[i] = batch.get(i).inputs();
                targets[i] = batch.get(i).targets();
                System.arraycopy(batch.get(i).mask(), 0, m, i * t, t);
            }
            INDArray mask = Nd4j.create(m, new long[] {batch.size(), t}, 'c');
            INDArray reference = teacher == null ? null : teacher.lm().logits(ids);
            for (Map.Entry<String, Loaded> e : models.entrySet()) {
                INDArray z = e.getKey().equals("teacher") ? reference : e.getValue().lm().logits(ids);
                metrics.get(e.getKey()).addBatch(z, targets, mask);
                if (reference != null) {
                    agreement.get(e.getKey()).addBatch(reference, z, mask);
                }
            }
        }
    }

    /** The fixed prompt: the first test window's inputs (by id) up to its last scored position, padding left out. */
    static int[] prompt(List<Windowing.Window> windows) {
        Windowing.Window w = windows.get(0);
        return java.util.Arrays.copyOf(w.inputs(), Math.max(1, w.scoredTo()));
    }

    private static Map<String, Object> entry(ModelArtifact artifact, Loaded model, NextTokenMetrics m,
                                             TokenAgreement a, List<Windowing.Window> windows, int[] prompt,
                                             EvaluateConfig config, Checked c) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("bits_per_char", m.bitsPerChar());
        e.put("perplexity", m.perplexity());
        e.put("accuracy", m.accuracy());
        e.put("top1_agreement", a == null ? null : a.top1());
        e.put("top5_agreement", a == null ? null : a.top5());
        e.put("kl_teacher_student", a == null ? null : a.meanKl());
        e.put("ece", m.ece());
        e.put("tokens", m.tokens());
        e.put("format", artifact.format().label());
        e.put("parameters", model.network() != null ? model.network().numParams()
                : OnnxModels.parameters(artifact.bytes(), artifact.zipPath()));
        e.put("bytes", (long) artifact.bytes().length);
        LmDecoder decoder = LmDecoder.of(model.lm(), model.network(), c.windowing().length());
        double[] latency = LmTiming.latencyMillis(decoder, prompt, config.latencyRuns());
        e.put("latency_ms_per_token", LmTiming.median(latency));
        e.put("latency_ms_per_token_repetitions", latency);
        e.put("tokens_per_second", LmTiming.tokensPerSecond(model.lm(), windows,
                config.lmSettings().throughputBatch()));
        e.put("samples", LmTiming.samples(decoder, prompt, config.lmSettings(), c.vocabulary()));
        if (artifact.manifest() != null) {
            Map<String, Object> f = artifact.manifest().facts();
            for (String k : new String[] {"objective", "temperature", "alpha", "architecture", "rows"}) {
                if (f.containsKey(k)) {
                    e.put(k, f.get(k));
                }
            }
        }
        e.put("sha256", artifact.sha256());
        return e;
    }
}
