package org.distillery.jobs.train;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.common.Sparks;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.ingest.IngestConfig;
import org.distillery.jobs.ingest.IngestJob;
import org.distillery.jobs.ingest.TextConfig;
import org.distillery.jobs.label.LabelConfig;
import org.distillery.jobs.label.LabelJob;
import org.distillery.jobs.train.averaging.EngineConfig;
import org.distillery.jobs.train.averaging.ParameterAveragingTrainer;
import org.distillery.jobs.train.averaging.TrainerSettings;
import org.distillery.model.loss.TokenDistillationLoss;
import org.distillery.model.nn.LanguageModels;
import org.distillery.model.nn.LstmArchitecture;
import org.distillery.model.nn.Models;
import org.distillery.model.nn.TokenLogitFunction;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.schema.TokenSoftTargetSchema;
import org.distillery.model.text.Windowing;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Benchmark, not a test (docs/scripts/bench-lm.sh runs it): language-model labeling and training speed in tokens/s,
 * each engine beside its single-JVM counterpart in the same JVM, runs alternated. Prints one JSON line per timed run
 * with wall and CPU seconds (the JVM's CPU time over the run: on a shared machine it moves much less than wall time).
 * Usage:
 * <pre>
 *   LmBench data DIR SOURCE [soft]   ingest SOURCE (a text corpus) into DIR/text (windows of 128 tokens, burn-in 32,
 *                                    5% validation, 5% test), a randomly initialised teacher lstm:32:256,256 in
 *                                    DIR/teacher.zip, and with {@code soft} label the training split at T = 2 into
 *                                    DIR/soft (every logit, fp32); each kept if present
 *   LmBench label DIR RUNS           RUNS x (the label job over DIR/text/train in local[2], raw inference of the same
 *                                    windows by TokenLogitFunction.logits on 2 Java threads, one network each), after
 *                                    a warm-up of both on the validation split (run with OMP_NUM_THREADS=1)
 *   LmBench raw DIR RUNS THREADS     the raw inference alone, THREADS Java threads (1 with OMP_NUM_THREADS=2)
 *   LmBench train DIR EPOCHS RUNS    RUNS x (EPOCHS epochs of distillery's parameter averaging in local[2], EPOCHS of
 *                                    single-JVM DL4J fit), a fresh student lstm:32:128 each run, kd from DIR/soft
 *                                    (T = 2, alpha = 0.5, Adam 1e-3, batch 64, averaging every 10 minibatches), on
 *                                    the same minibatches, after one warm-up epoch of each (OMP_NUM_THREADS=1);
 *                                    then the train job itself once (reading, minibatches, validation, publishing)
 * </pre>
 * Tokens are input positions through the network (windows x 128: an LSTM runs every position, burn-in included);
 * {@code scoredTokens} (windows x scored positions) is what the label job stores and the loss counts. The label job's
 * batch is its default, 1,024 positions (8 windows per teacher call, and the raw runs' calls alike), unless
 * {@code -Dbench.labelBatch} sets another.
 */
public final class LmBench {
    static final int WINDOW = 128;
    static final int BURN_IN = 32;
    static final double TEMPERATURE = 2;
    static final double ALPHA = 0.5;
    static final LstmArchitecture TEACHER = new LstmArchitecture(32, List.of(256, 256));
    static final LstmArchitecture STUDENT = new LstmArchitecture(32, List.of(128));

    private LmBench() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        switch (args[0]) {
            case "data" -> data(dir, args[2], args.length > 3 && args[3].equals("soft"));
            case "label" -> label(dir, Integer.parseInt(args[2]));
            case "raw" -> raw(dir, Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            case "train" -> train(dir, Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            default -> throw new IllegalArgumentException("mode must be data, label, raw or train, got " + args[0]);
        }
        System.exit(0); // Spark's barrier-mode timer thread is not a daemon
    }

    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    static void data(Path dir, String source, boolean soft) throws IOException {
        SparkSession spark = Sparks.session("distillery-lmbench-data", "local[2]");
        Path text = dir.resolve("text");
        if (!Files.exists(text)) {
            new IngestJob(spark).run(IngestConfig.builder().source(source, IngestConfig.Format.TEXT)
                    .text(new TextConfig(TextConfig.DEFAULT_SOURCE_DOCUMENTS, WINDOW, BURN_IN, 1))
                    .splits(IngestConfig.Splits.fractions(0.05, 0.05)).seed(7).out(text.toString()).build());
        }
        Manifest m = Storage.of(spark).publishedManifest(text.resolve("train").toString());
        int v = (int) m.number(TextTransferSchema.VOCABULARY_SIZE);
        Path teacher = dir.resolve("teacher.zip");
        if (!Files.exists(teacher)) {
            Files.write(teacher, Models.toBytes(TEACHER.build(v, TokenDistillationLoss.hardLabelsOnly(), 1e-3, 42),
                    false));
        }
        Path targets = dir.resolve("soft");
        if (soft && !Files.exists(targets)) {
            new LabelJob(spark).run(labelConfig(dir, "train", targets.toString()));
        }
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("bench", "data");
        line.put("dir", dir.toString());
        line.put("source", source);
        line.put("vocabulary", v);
        line.put("trainWindows", (long) m.number("rows"));
        line.put("trainScoredTokens", (long) m.number("scoredTokens"));
        line.put("window", WINDOW);
        line.put("burnIn", BURN_IN);
        line.put("teacher", TEACHER.spec());
        line.put("teacherParameters", TEACHER.parameters(v));
        line.put("student", STUDENT.spec());
        line.put("studentParameters", STUDENT.parameters(v));
        System.out.println(Manifest.oneLine(line));
        spark.stop();
    }

    private static LabelConfig labelConfig(Path dir, String split, String out) {
        return LabelConfig.builder(dir.resolve("text").resolve(split).toString(), out)
                .teachers(List.of(dir.resolve("teacher.zip").toString())).temperature(TEMPERATURE)
                .batchSize(labelBatch()).build();
    }

    /** The inputs of every window of {@code split}, in id order. */
    private static List<int[]> windows(SparkSession spark, Path dir, String split) {
        String path = dir.resolve("text").resolve(split).toString();
        int v = (int) Storage.of(spark).publishedManifest(path).number(TextTransferSchema.VOCABULARY_SIZE);
        List<int[]> out = new ArrayList<>();
        for (Windowing.Window w : LmWindows.collect(TransferTables.readPublished(spark, path), v, WINDOW)) {
            out.add(w.inputs());
        }
        return out;
    }

    /** The scored positions of the training split (short documents leave a window's end unscored). */
    private static long scoredTokens(SparkSession spark, Path dir) {
        return (long) Storage.of(spark).publishedManifest(dir.resolve("text").resolve("train").toString())
                .number("scoredTokens");
    }

    /** The label job's batch of positions: its default unless {@code -Dbench.labelBatch} sets another. */
    static int labelBatch() {
        return Integer.getInteger("bench.labelBatch", LabelConfig.DEFAULT_BATCH);
    }

    /** Windows per teacher call, as the label job cuts its batch of positions into windows. */
    static int windowsPerCall() {
        return Math.max(1, labelBatch() / WINDOW);
    }

    /**
     * The teacher over {@code windows} in calls of {@link #windowsPerCall} windows, spread over {@code threads} Java
     * threads (contiguous slices, one network each, as each label task holds its own); the wall seconds.
     */
    private static double rawPass(List<TokenLogitFunction> lms, List<int[]> windows, ExecutorService pool)
            throws Exception {
        int threads = lms.size();
        int per = windowsPerCall();
        long t0 = System.nanoTime();
        List<Future<Double>> parts = new ArrayList<>();
        for (int k = 0; k < threads; k++) {
            int from = k * windows.size() / threads;
            int to = (k + 1) * windows.size() / threads;
            TokenLogitFunction lm = lms.get(k);
            parts.add(pool.submit(() -> {
                double sink = 0;
                for (int i = from; i < to; i += per) {
                    int[][] batch = windows.subList(i, Math.min(to, i + per)).toArray(int[][]::new);
                    sink += lm.logits(batch).getFloat(0);
                }
                return sink;
            }));
        }
        for (Future<Double> f : parts) {
            f.get();
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static List<TokenLogitFunction> teachers(Path dir, int threads) throws IOException {
        byte[] zip = Files.readAllBytes(dir.resolve("teacher.zip"));
        List<TokenLogitFunction> lms = new ArrayList<>();
        for (int k = 0; k < threads; k++) {
            lms.add(LanguageModels.of(Models.fromBytes(zip, "teacher.zip")));
        }
        return lms;
    }

    private static void print(String bench, String engine, int run, long windows, long tokens, long scored,
                              double seconds, double cpuSeconds, Map<String, Object> more) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("bench", bench);
        line.put("engine", engine);
        line.put("run", run);
        line.put("windows", windows);
        line.put("tokens", tokens);
        line.put("scoredTokens", scored);
        line.put("seconds", seconds);
        line.put("cpuSeconds", cpuSeconds);
        line.put("tokensPerSecond", tokens / seconds);
        line.putAll(more);
        System.out.println(Manifest.oneLine(line));
    }

    static void label(Path dir, int runs) throws Exception {
        SparkSession spark = Sparks.session("distillery-lmbench-label", "local[2]");
        List<int[]> train = windows(spark, dir, "train");
        List<int[]> warm = windows(spark, dir, "validation");
        long scored = scoredTokens(spark, dir);
        List<TokenLogitFunction> lms = teachers(dir, 2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        Path out = dir.resolve("label-out");
        for (int run = -1; run < runs; run++) {
            for (String engine : run % 2 == 0 ? List.of("job", "raw") : List.of("raw", "job")) {
                List<int[]> windows = run < 0 ? warm : train;
                delete(out);
                long c0 = cpuNanos();
                double s;
                if (engine.equals("job")) {
                    s = new LabelJob(spark).run(labelConfig(dir, run < 0 ? "validation" : "train", out.toString()))
                            .seconds();
                } else {
                    s = rawPass(lms, windows, pool);
                }
                double cpu = (cpuNanos() - c0) / 1e9;
                if (run >= 0) {
                    print("label", engine.equals("job") ? "label job, local[2], 1 OpenMP thread per task"
                            : "raw TokenLogitFunction.logits, 2 Java threads x 1 OpenMP", run, train.size(),
                            (long) train.size() * WINDOW, scored, s, cpu, Map.of("windowsPerCall", windowsPerCall()));
                }
            }
        }
        delete(out);
        pool.shutdown();
        spark.stop();
    }

    static void raw(Path dir, int runs, int threads) throws Exception {
        SparkSession spark = Sparks.session("distillery-lmbench-raw", "local[2]");
        List<int[]> train = windows(spark, dir, "train");
        List<int[]> warm = windows(spark, dir, "validation");
        long scored = scoredTokens(spark, dir);
        spark.stop();
        List<TokenLogitFunction> lms = teachers(dir, threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        rawPass(lms, warm, pool);
        String omp = System.getenv().getOrDefault("OMP_NUM_THREADS", "?");
        for (int run = 0; run < runs; run++) {
            long c0 = cpuNanos();
            double s = rawPass(lms, train, pool);
            print("label", "raw TokenLogitFunction.logits, " + threads + " Java thread" + (threads > 1 ? "s" : "")
                    + " x " + omp + " OpenMP", run, train.size(), (long) train.size() * WINDOW, scored, s, (cpuNanos() - c0) / 1e9,
                    Map.of("windowsPerCall", windowsPerCall()));
        }
        pool.shutdown();
    }

    static MultiLayerNetwork student(int vocabulary) {
        return STUDENT.build(vocabulary, new TokenDistillationLoss(TEMPERATURE, ALPHA), 1e-3, 42);
    }

    static void train(Path dir, int epochs, int runs) throws IOException {
        SparkSession spark = Sparks.session("distillery-lmbench-train", "local[2]");
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        String soft = dir.resolve("soft").toString();
        Manifest m = Storage.of(spark).publishedManifest(soft);
        SoftTargetLayout layout = TokenSoftTargetSchema.layout(m, soft);
        int v = layout.classes();
        TrainerSettings settings = new TrainerSettings(TrainConfig.DEFAULT_WORKERS, TrainConfig.DEFAULT_BATCH_SIZE,
                TrainConfig.DEFAULT_AVERAGING_FREQUENCY, EngineConfig.DEFAULT.prefetch(), TrainConfig.DEFAULT_SEED);
        long windows = (long) m.number("rows");
        // the train job's data path: the soft-target rows cut into rounds and turned into minibatches on the executors
        JavaRDD<DataSet> rdd = LmWindows.minibatches(TransferTables.readPublished(spark, soft), windows, v, WINDOW,
                layout, TEMPERATURE, settings, StorageLevel.MEMORY_ONLY());
        List<DataSet> batches = rdd.collect(); // the very same minibatches, for the single JVM
        long tokens = windows * WINDOW * epochs;
        long scored = 0;
        for (DataSet d : batches) {
            scored += (long) d.getLabelsMaskArray().sumNumber().doubleValue();
        }
        scored *= epochs;
        int rounds = settings.partitionsFor(windows) / settings.workers();
        for (int run = -1; run < runs; run++) {
            for (String engine : run % 2 == 0 ? List.of("spark", "single") : List.of("single", "spark")) {
                MultiLayerNetwork net = student(v);
                int n = run < 0 ? 1 : epochs;
                long c0 = cpuNanos();
                long t0 = System.nanoTime();
                double score;
                String describe;
                if (engine.equals("spark")) {
                    ParameterAveragingTrainer trainer = new ParameterAveragingTrainer(sc, net, settings,
                            EngineConfig.DEFAULT);
                    describe = trainer.describe();
                    for (int e = 1; e <= n; e++) {
                        trainer.fitEpoch(rdd, e);
                    }
                    score = trainer.lastScore();
                    trainer.close();
                } else {
                    describe = "single-JVM DL4J fit";
                    for (int e = 0; e < n; e++) {
                        batches.forEach(net::fit);
                    }
                    score = net.score();
                }
                double s = (System.nanoTime() - t0) / 1e9;
                double cpu = (cpuNanos() - c0) / 1e9;
                if (run >= 0) {
                    print("train", engine.equals("spark") ? "local[2] parameter averaging, averaging frequency "
                            + settings.averagingFrequency() : "single-JVM DL4J fit, 1 OpenMP thread", run, windows,
                            tokens, scored, s, cpu, Map.of("epochs", epochs, "score", score, "trainer", describe,
                                    "roundsPerEpoch", rounds, "minibatches", batches.size(),
                                    "parameters", net.numParams()));
                }
            }
        }
        rdd.unpersist(false);
        job(spark, dir, epochs, windows, tokens, scored);
        spark.stop();
    }

    /**
     * The whole {@code train --task lm} job once, the same student and settings, with the validation split scored
     * after each epoch: its wall and CPU seconds end to end, and the epochs' own seconds from its score lines.
     */
    private static void job(SparkSession spark, Path dir, int epochs, long windows, long tokens, long scored)
            throws IOException {
        Path out = dir.resolve("train-out");
        delete(out);
        TrainConfig config = TrainConfig.builder(Objective.KD).task(Task.LM).softTargets(dir.resolve("soft").toString())
                .validation(dir.resolve("text").resolve("validation").toString()).out(out.toString())
                .lm(STUDENT.embedding(), STUDENT.hidden().get(0), STUDENT.hidden().size())
                .alphas(List.of(ALPHA)).epochs(epochs).build();
        long c0 = cpuNanos();
        double s = new TrainJob(spark).run(config).seconds();
        double cpu = (cpuNanos() - c0) / 1e9;
        double epochSeconds = 0;
        for (String line : Files.readAllLines(out.resolve(TrainJob.SCORES))) {
            epochSeconds += Manifest.mapper().readTree(line).get("seconds").asDouble();
        }
        print("train", "train --task lm job, local[2], end to end", 0, windows, tokens, scored, s, cpu,
                Map.of("epochs", epochs, "epochSeconds", epochSeconds, "tokensPerEpochSecond", tokens / epochSeconds));
        delete(out);
    }

    private static void delete(Path p) throws IOException {
        if (Files.exists(p)) {
            try (Stream<Path> files = Files.walk(p)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }
}
