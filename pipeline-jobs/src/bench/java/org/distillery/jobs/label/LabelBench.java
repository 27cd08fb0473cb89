package org.distillery.jobs.label;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.Sparks;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.nn.Architecture;
import org.distillery.model.nn.BlasKernel;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Benchmark, not a test (docs/scripts/bench-label.sh runs it): teacher inference of a teacher built from an
 * architecture spec (default the 784-1200-1200-10 MLP; random init, seed 42, saved as a DL4J model zip) as raw
 * in-memory ND4J batches, DL4J {@code output()} vs the fast dense path when the teacher has one (and ONNX Runtime on the
 * same weights, given the teacher as ONNX), and as the label job in Spark {@code local[2]} with Parquet in and out.
 * Prints one JSON line per measurement with the teacher's shape, rows/s, GFLOP/s and the fraction of
 * {@code -Dbench.peakGflops} (233, this machine's fp32 peak); the job's lines add the process CPU time, the GC
 * collections and their time and the JIT's compiling time during the timed run. Usage:
 * <pre>
 *   LabelBench teacher ZIP [SPEC]                 write the teacher (once; SPEC as Architecture.parse, default
 *                                                 mlp:1200,1200)
 *   LabelBench formats ZIP DIR                    write it as DIR/teacher.onnx and Keras HDF5 too (make_teachers.py)
 *   LabelBench transfer DIR ROWS [ROWS_PER_FILE]  publish a synthetic transfer set (not timed; kept if published;
 *                                                 files of 50,000 rows unless ROWS_PER_FILE)
 *   LabelBench footers TRANSFER PASSES            the label job's planning read of the footers, 1 thread vs
 *                                                 SlicedScan.FOOTER_THREADS, alternated, medians
 *   LabelBench raw ZIP ROWS_PER_PASS PASSES THREADS [ONNX]   batches of 1024 from memory, engines alternated, medians
 *                                                 (a teacher instance per thread; -Dbench.sharedTeacher=true: one for
 *                                                 every thread, as the label job's tasks share it)
 *   LabelBench job TRANSFER TEACHER OUT [WARMUP]  the label job (after a warm-up run on WARMUP), heap before/after;
 *                                                 TEACHER in any format the label job reads
 *   LabelBench label TRANSFER TEACHER OUT         the label job once, its output kept (the Python job's --check)
 *   LabelBench relabel DATA TEACHER ROWS PARTS    reruns: a partitioned transfer set of PARTS x ROWS rows labelled
 *                                                 whole, again unchanged, with one new partition; and the same rows
 *                                                 as one table (DATA/transfer-(PARTS x ROWS)) labelled, then again
 * </pre>
 * Synthetic rows look like ingested Fashion-MNIST (pixel / 255): half zeros, the rest k / 255 with k in 1..255, seeded
 * by the row id, so that Parquet encodes them much as it encodes the real transfer set (dictionary pages of at most 256
 * values).
 */
public final class LabelBench {
    static final int FEATURES = 784;
    static final int CLASSES = 10;
    static final int BATCH = LabelConfig.DEFAULT_BATCH;
    static final long SEED = 42;
    static final int ROWS_PER_FILE = 50_000;
    static final double PEAK_GFLOPS = Double.parseDouble(System.getProperty("bench.peakGflops", "233"));

    private LabelBench() {
    }

    public static void main(String[] args) throws Exception {
        // the kernel choice the jobs make (Distill.main), before ND4J loads
        System.out.println("# blas: " + BlasKernel.apply(BlasKernel.configured(), true).reason());
        switch (args[0]) {
            case "teacher" -> teacher(Path.of(args[1]), args.length > 2 ? args[2] : "mlp:1200,1200");
            case "formats" -> org.distillery.jobs.TeacherFiles.write(
                    Models.fromBytes(Files.readAllBytes(Path.of(args[1])), args[1]), false, Path.of(args[2]));
            case "transfer" -> transfer(args[1], Long.parseLong(args[2]),
                    args.length > 3 ? Integer.parseInt(args[3]) : ROWS_PER_FILE);
            case "footers" -> footers(args[1], Integer.parseInt(args[2]));
            case "relabel" -> relabel(args[1], args[2], Long.parseLong(args[3]), Integer.parseInt(args[4]));
            case "raw" -> raw(Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                    Integer.parseInt(args[4]), args.length > 5 ? Path.of(args[5]) : null);
            case "job" -> job(args[1], args[2], args[3], args.length > 4 ? args[4] : null);
            case "label" -> labelOnce(args[1], args[2], args[3]);
            default -> throw new IllegalArgumentException("mode must be teacher, formats, transfer, footers, raw, job,"
                    + " label or relabel, got "
                    + args[0]);
        }
    }

    static void teacher(Path zip, String spec) throws IOException {
        if (Files.exists(zip)) {
            System.out.println("# teacher exists: " + zip);
            return;
        }
        MultiLayerNetwork net = Architecture.parse(spec, 0)
                .build(FEATURES, CLASSES, DistillationLoss.hardLabelsOnly(), 1e-3, SEED);
        Files.createDirectories(zip.toAbsolutePath().getParent());
        Files.write(zip, Models.toBytes(net, false));
    }

    /** One synthetic pixel row, a function of its id only: half zeros, the rest k / 255 with k uniform in 1..255. */
    static void pixels(long id, float[] dst, int offset) {
        SplittableRandom rng = new SplittableRandom(SEED * 0x9E3779B97F4A7C15L + id);
        for (int j = 0; j < FEATURES; j++) {
            int k = rng.nextInt(510);
            dst[offset + j] = k < 255 ? 0f : (k - 254) / 255f;
        }
    }

    static void transfer(String dir, long rows, int rowsPerFile) {
        SparkSession spark = Sparks.session("distillery-labelbench-data", "local[2]");
        transfer(spark, dir, rows, 0, rowsPerFile);
        spark.stop();
    }

    /**
     * The label job's planning read of the transfer set's footers ({@link SlicedScan#footers}), one thread against
     * {@link SlicedScan#FOOTER_THREADS}, alternated over {@code passes} passes after a warm-up pass: wall seconds.
     */
    static void footers(String transfer, int passes) {
        SparkSession spark = Sparks.session("distillery-labelbench", "local[2]");
        org.apache.spark.sql.execution.SparkPlan plan = TransferTables.readTransfer(spark, transfer).rows()
                .queryExecution().executedPlan();
        while (!(plan instanceof org.apache.spark.sql.execution.FileSourceScanExec) && plan.children().size() == 1) {
            plan = plan.children().apply(0);
        }
        org.apache.spark.sql.execution.FileSourceScanExec scan = (org.apache.spark.sql.execution.FileSourceScanExec) plan;
        org.apache.spark.sql.execution.datasources.PartitionedFile[] files = java.util.Arrays.stream(
                scan.inputRDD().partitions()).flatMap(p -> java.util.Arrays.stream(
                ((org.apache.spark.sql.execution.datasources.FilePartition) p).files()))
                .toArray(org.apache.spark.sql.execution.datasources.PartitionedFile[]::new);
        org.apache.hadoop.conf.Configuration conf = spark.sessionState().newHadoopConf();
        java.util.Map<Integer, List<Double>> seconds = new java.util.TreeMap<>();
        for (int pass = -1; pass < passes; pass++) {
            for (int threads : pass % 2 == 0 ? new int[] {1, SlicedScan.FOOTER_THREADS}
                    : new int[] {SlicedScan.FOOTER_THREADS, 1}) {
                String[] why = {null};
                long t0 = System.nanoTime();
                if (SlicedScan.footers(files, conf, threads, why) == null) {
                    throw new IllegalStateException(why[0]);
                }
                if (pass >= 0) {
                    seconds.computeIfAbsent(threads, k -> new java.util.ArrayList<>())
                            .add((System.nanoTime() - t0) / 1e9);
                }
            }
        }
        seconds.forEach((threads, s) -> System.out.printf("{\"engine\":\"label plan: footers, %d thread%s\","
                + "\"files\":%d,\"passes\":%d,\"secondsMedian\":%.3f}%n", threads, threads == 1 ? "" : "s",
                files.length, s.size(), s.stream().sorted().toList().get(s.size() / 2)));
        spark.stop();
    }

    /** Publishes synthetic rows with ids {@code firstId ..} at {@code dir}, unless it is published with as many. */
    static void transfer(SparkSession spark, String dir, long rows, long firstId) {
        transfer(spark, dir, rows, firstId, ROWS_PER_FILE);
    }

    /** As above, in files of {@code rowsPerFile} rows. */
    static void transfer(SparkSession spark, String dir, long rows, long firstId, int rowsPerFile) {
        Storage storage = Storage.of(spark);
        if (storage.exists(dir + "/" + Manifest.SUCCESS)) {
            double published = storage.publishedManifest(dir).number("rows");
            if (published != rows) {
                throw new IllegalArgumentException(dir + " is published with " + (long) published + " rows, not "
                        + rows);
            }
            System.out.println("# transfer set exists: " + dir);
            return;
        }
        long t0 = System.nanoTime();
        int files = (int) Math.max(2, (rows + rowsPerFile - 1) / rowsPerFile);
        JavaRDD<Row> data = spark.range(firstId, firstId + rows, 1, files).javaRDD().map(id -> {
            float[] x = new float[FEATURES];
            pixels(id, x, 0);
            return RowFactory.create(id, x, (int) Math.floorMod(id * 31 + 7, (long) CLASSES));
        });
        try (StagedOutput out = StagedOutput.begin(storage, dir)) {
            TransferTables.write(spark.createDataFrame(data, TransferTables.SCHEMA), out.stagingDir());
            out.publish(Manifest.sealed("ingest", Map.of("fixture", "LabelBench synthetic pixels", "seed", SEED),
                    Map.of(), Manifest.facts("rows", rows, TransferSchema.FEATURE_COUNT, FEATURES,
                            TransferSchema.CLASSES, CLASSES, TransferSchema.SCHEMA_VERSION, TransferSchema.VERSION),
                    Map.of(), null), rows, t0);
        }
        System.out.printf("# wrote %s: %d rows in %.0f s (not part of any measurement)%n", dir, rows,
                (System.nanoTime() - t0) / 1e9);
    }

    /**
     * What reruns cost, each step timed in this JVM after a warm-up: PARTS partitions of ROWS rows ({@code day=1..},
     * ids distinct, together the rows of {@code DATA/transfer-(PARTS x ROWS)}) labelled whole with
     * {@code --mode incremental}; the same command again (nothing changed); one more partition, same command; then the
     * same rows as one table labelled, and the same incremental command again (every row reused by id and input hash,
     * but read, joined and written). The new partition is deleted at the end; the data sets are kept.
     */
    static void relabel(String data, String zip, long rows, int parts) throws Exception {
        SparkSession spark = Sparks.session("distillery-labelbench", "local[2]");
        String transfer = data + "/relabel/transfer";
        for (int d = 1; d <= parts; d++) {
            transfer(spark, transfer + "/day=" + d, rows, (d - 1) * rows);
        }
        String whole = data + "/transfer-" + rows * parts;
        transfer(spark, whole, rows * parts, 0);
        String extra = transfer + "/day=" + (parts + 1);
        deleteRecursively(Path.of(extra));
        String warmup = data + "/relabel/warmup";
        transfer(spark, warmup, 16_384, 0);
        String out = data + "/relabel/soft";
        String wholeOut = data + "/relabel/soft-whole";
        deleteRecursively(Path.of(out));
        deleteRecursively(Path.of(wholeOut));
        deleteRecursively(Path.of(out + "-warmup"));
        relabelStep(spark, "warm-up (not a measurement)", warmup, zip, out + "-warmup");
        deleteRecursively(Path.of(out + "-warmup"));
        relabelStep(spark, parts + " partitions, first run", transfer, zip, out);
        relabelStep(spark, parts + " partitions, same command again (nothing changed)", transfer, zip, out);
        transfer(spark, extra, rows, parts * rows);
        relabelStep(spark, (parts + 1) + " partitions, one new", transfer, zip, out);
        relabelStep(spark, "one table, first run", whole, zip, wholeOut);
        relabelStep(spark, "one table, same command again (nothing changed)", whole, zip, wholeOut);
        // another T alone: the stored logits re-softened, no transfer row read
        relabelStep(spark, "one table, T 2 -> 4 (logits reused)", whole, zip, wholeOut, 4.0);
        relabelStep(spark, (parts + 1) + " partitions, T 2 -> 4 (logits reused)", transfer, zip, out, 4.0);
        // the same rows republished (another manifest): every row compared by id and input hash, none labelled
        String copy = data + "/relabel/transfer-copy";
        republish(spark, whole, copy);
        relabelStep(spark, "one table, the same rows republished (rows compared, logits reused)", copy, zip,
                wholeOut, 4.0);
        deleteRecursively(Path.of(copy));
        deleteRecursively(Path.of(extra));
        deleteRecursively(Path.of(out));
        deleteRecursively(Path.of(wholeOut));
        spark.stop();
    }

    /** Publishes {@code from}'s rows again at {@code to} under another manifest: hard links, no bytes copied. */
    private static void republish(SparkSession spark, String from, String to) throws IOException {
        Storage storage = Storage.of(spark);
        deleteRecursively(Path.of(to));
        Manifest m = storage.publishedManifest(from);
        try (StagedOutput out = StagedOutput.begin(storage, to);
             var files = Files.list(Path.of(from))) {
            Path staging = Path.of(java.net.URI.create(out.stagingDir()));
            Files.createDirectories(staging);
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("part-")).toList()) {
                Files.createLink(staging.resolve(f.getFileName()), f);
            }
            out.publish(Manifest.sealed("ingest", Map.of("fixture", "LabelBench synthetic pixels, republished"),
                    Map.of(), m.facts(), Map.of(), null), (long) m.number("rows"), System.nanoTime());
        }
    }

    private static void relabelStep(SparkSession spark, String step, String transfer, String zip, String out) {
        relabelStep(spark, step, transfer, zip, out, LabelConfig.DEFAULT_TEMPERATURE);
    }

    private static void relabelStep(SparkSession spark, String step, String transfer, String zip, String out,
                                    double temperature) {
        long t0 = System.nanoTime();
        JobResult r = new LabelJob(spark).run(LabelConfig.builder(transfer, out).teachers(List.of(zip))
                .temperature(temperature).batchSize(BATCH).mode(org.distillery.jobs.common.PublishMode.INCREMENTAL)
                .build());
        double seconds = (System.nanoTime() - t0) / 1e9;
        List<String> written = r.details().containsKey("kept") ? List.of()
                : r.details().get("partitionsLabelled") instanceof List<?> names
                ? names.stream().map(n -> r.path() + "/" + n).toList() : List.of(r.path());
        long relabelled = 0; // rows that went through the teacher, from each written manifest's incremental facts
        for (String path : written) {
            Map<?, ?> m = (Map<?, ?>) Storage.of(spark).publishedManifest(path).facts().get("incremental");
            relabelled += ((Number) m.get("relabelledRows")).longValue();
        }
        System.out.printf("{\"step\":\"%s\",\"rows\":%d,\"rowsThroughTeacher\":%s,\"seconds\":%.2f}%n", step,
                r.rows(), relabelled, seconds);
    }

    /**
     * FLOP of one row through the network's dense and convolution layers: 2 x nIn x nOut per dense layer, 2 x output
     * elements x (nIn x kH x kW) per convolution (output sizes from one row fed forward); bias, activations and pooling
     * left out.
     */
    static double flopsPerRow(MultiLayerNetwork net) {
        List<INDArray> activations = net.feedForward(Nd4j.zeros(DataType.FLOAT, 1, FEATURES), false);
        double flops = 0;
        for (int i = 0; i < net.getnLayers(); i++) {
            Layer layer = net.getLayer(i);
            if (layer.numParams() == 0) {
                continue;
            }
            INDArray w = layer.getParam("W");
            flops += w.rank() == 4 ? 2.0 * activations.get(i + 1).length() * w.size(1) * w.size(2) * w.size(3)
                    : 2.0 * w.size(0) * w.size(1);
        }
        return flops;
    }

    /**
     * The teacher's shape, e.g. {@code 784-1200-1200-10} or {@code 784-conv5x5x20-pool-conv5x5x50-pool-500-10}: what
     * bench-label.sh groups the measurements by.
     */
    static String shape(MultiLayerNetwork net) {
        StringBuilder s = new StringBuilder(Integer.toString(FEATURES));
        for (int i = 0; i < net.getnLayers(); i++) {
            Layer layer = net.getLayer(i);
            if (layer.numParams() == 0) {
                s.append("-pool");
                continue;
            }
            INDArray w = layer.getParam("W");
            s.append(w.rank() == 4 ? "-conv" + w.size(2) + "x" + w.size(3) + "x" + w.size(0) : "-" + w.size(1));
        }
        return s.toString();
    }

    static String rates(double rows, double seconds, double flopsPerRow) {
        double gflops = rows * flopsPerRow / seconds / 1e9;
        return String.format("\"rowsPerSecond\":%.0f,\"gflops\":%.1f,\"peakFraction\":%.3f", rows / seconds, gflops,
                gflops / PEAK_GFLOPS);
    }

    /** The OpenMP setting and what ND4J made of it. */
    static String ompThreads() {
        return "OMP_NUM_THREADS=" + System.getenv().getOrDefault("OMP_NUM_THREADS", "unset") + ", ND4J maxThreads="
                + Nd4j.getEnvironment().maxThreads();
    }

    private interface Engine {
        INDArray run(int thread, INDArray x);
    }

    /**
     * Batches of 1024 rows from a pool held in memory, cycled: each pass runs {@code rowsPerPass} rows split over
     * {@code threads} Java threads, each with its own network clone and LogitModel (as TeacherCache gives each task
     * thread). Engines alternate pass by pass after one warm-up pass each; the medians are printed. With {@code onnx}
     * (the same teacher as an ONNX model), ONNX Runtime runs too: one session shared by the threads, as on an executor.
     */
    static void raw(Path zip, int rowsPerPass, int passes, int threads, Path onnx) throws Exception {
        raw(zip, rowsPerPass, passes, threads, onnx, null);
    }

    /**
     * As {@link #raw(Path, int, int, int, Path)}; with {@code jobPath} (a label, e.g. "after the label job in its
     * JVM") only the engine the label job runs (the fast path when the teacher has one, else {@code output()}), its
     * line's engine name ending in that label. Returns the last engine's rows/s over all its timed passes (rows over
     * their summed seconds: the rate a run as long as the passes together sustains, slow passes included).
     */
    static double raw(Path zip, int rowsPerPass, int passes, int threads, Path onnx, String jobPath)
            throws Exception {
        MultiLayerNetwork prototype = Models.fromBytes(Files.readAllBytes(zip), zip.toString());
        List<MultiLayerNetwork> nets = new ArrayList<>();
        List<LogitModel> models = new ArrayList<>();
        boolean shared = Boolean.getBoolean("bench.sharedTeacher"); // one instance for every thread, as in the job
        for (int t = 0; t < threads; t++) {
            nets.add(prototype.clone());
            models.add(shared && t > 0 ? models.get(0) : new LogitModel(nets.get(t)));
        }
        boolean fast = models.get(0).fastPath();
        if (!fast) {
            System.out.println("# the teacher has no fast path (" + models.get(0).fallbackReason() + "): output() only");
        }
        List<INDArray> pool = new ArrayList<>();
        float[] x = new float[BATCH * FEATURES];
        for (int b = 0; b < Math.min(32, Math.max(1, rowsPerPass / BATCH)); b++) {
            for (int i = 0; i < BATCH; i++) {
                pixels((long) b * BATCH + i, x, i * FEATURES);
            }
            pool.add(Nd4j.create(x, new long[] {BATCH, FEATURES}, DataType.FLOAT));
        }
        INDArray reference = nets.get(0).output(pool.get(0), false);
        INDArray fastOut = fast ? models.get(0).logits(pool.get(0)) : reference;
        double maxAbsDiff = reference.sub(fastOut).amaxNumber().doubleValue();
        boolean bitIdentical = Arrays.equals(reference.dup('c').data().asFloat(), fastOut.dup('c').data().asFloat());

        String layout = threads + " Java thread" + (threads > 1 ? "s" : "") + " x " + ompThreads()
                + (jobPath == null ? "" : ", " + jobPath);
        List<String> names = new ArrayList<>();
        List<Engine> engines = new ArrayList<>();
        if (jobPath == null || !fast) {
            names.add("raw ND4J, DL4J output() (" + layout + ")");
            engines.add((t, in) -> nets.get(t).output(in, false));
        }
        if (fast) {
            names.add("raw ND4J, fast dense path (" + layout + ")");
            engines.add((t, in) -> models.get(t).logits(in));
        }
        String onnxDiff = "";
        if (onnx != null) {
            org.distillery.model.nn.LogitFunction session = org.distillery.jobs.common.ModelArtifact.read(
                    org.distillery.jobs.common.Storage.standalone(), onnx.toString()).teacher(null, null);
            onnxDiff = String.format(",\"maxAbsDiffToFastPath\":%.3g",
                    session.logits(pool.get(0)).sub(fastOut).amaxNumber().doubleValue());
            names.add("raw, " + session.describe() + " (" + threads + " Java thread" + (threads > 1 ? "s" : "")
                    + " sharing it)");
            engines.add((t, in) -> session.logits(in));
        }
        int n = engines.size();
        int batchesPerThread = Math.max(1, (rowsPerPass / BATCH + threads - 1) / threads);
        long rows = (long) batchesPerThread * threads * BATCH;
        ExecutorService exec = Executors.newFixedThreadPool(threads);
        try {
            double[][] seconds = new double[n][passes];
            for (int e = 0; e < n; e++) {
                pass(exec, engines.get(e), pool, batchesPerThread, threads); // warm-up
            }
            for (int p = 0; p < passes; p++) {
                for (int k = 0; k < n; k++) {
                    int e = p % 2 == 0 ? k : n - 1 - k;
                    seconds[e][p] = pass(exec, engines.get(e), pool, batchesPerThread, threads);
                }
            }
            double flops = flopsPerRow(prototype);
            String teacher = shape(prototype);
            double last = 0;
            for (int e = 0; e < n; e++) {
                double[] s = seconds[e].clone();
                Arrays.sort(s);
                double median = s[passes / 2];
                last = rows * passes / Arrays.stream(s).sum(); // rows/s over all timed passes
                System.out.printf("{\"engine\":\"%s\",\"teacher\":\"%s\",\"flopsPerRow\":%.0f,\"threads\":%d,"
                                + "\"rows\":%d,\"passes\":%d,\"secondsMedian\":%.3f,%s,"
                                + "\"rowsPerSecondMin\":%.0f,\"rowsPerSecondMax\":%.0f,\"rowsPerSecondMean\":%.0f%s,"
                                + "\"blasKernel\":\"%s\"}%n",
                        names.get(e), teacher, flops, threads, rows, passes, median, rates(rows, median, flops),
                        rows / s[passes - 1], rows / s[0], last,
                        names.get(e).contains("fast dense path")
                                ? String.format(",\"maxAbsDiffToOutput\":%.3g,\"bitIdentical\":%b", maxAbsDiff,
                                bitIdentical) : names.get(e).startsWith("raw, ") ? onnxDiff : "",
                        BlasKernel.running());
            }
            return last;
        } finally {
            exec.shutdownNow();
        }
    }

    /** Seconds for {@code threads} threads to run {@code batches} batches each, starting at different pool slots. */
    private static double pass(ExecutorService exec, Engine engine, List<INDArray> pool, int batches, int threads)
            throws Exception {
        long t0 = System.nanoTime();
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            done.add(exec.submit(() -> {
                for (int b = 0; b < batches; b++) {
                    engine.run(thread, pool.get((thread * batches + b) % pool.size()));
                }
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /**
     * The label job on a published transfer set, timed end to end (check, inference, Parquet write, reports), with
     * the process CPU time (OperatingSystemMXBean: all threads, the driver's and both tasks') and the GC collections
     * and their summed time (GarbageCollectorMXBeans) over the timed run. GFLOP/s are counted for the teacher in
     * {@code zip} when it is a DL4J model zip, else for LabelBench's default teacher. With
     * {@code -Dbench.adjacentRawRows=N} (and {@code bench.adjacentRawPasses}, 7), a DL4J teacher's raw passes run in
     * this JVM right before the timed job (after the warm-up) and right after it (Spark stopped): N rows per pass, the
     * job's layout of 2 Java threads, its path; a last line gives the job's per-row overhead against the teacher's time
     * for its rows at those two rates (their harmonic mean): the raw rate measured in the seconds around the job, not
     * minutes before it in another JVM, so that the machine's drift moves the figure less.
     */
    static void job(String transfer, String zip, String out, String warmup) throws Exception {
        SparkSession spark = Sparks.session("distillery-labelbench", "local[2]");
        deleteRecursively(Path.of(out));
        if (warmup != null) {
            label(spark, warmup, zip, out + "-warmup");
            deleteRecursively(Path.of(out + "-warmup"));
        }
        int rawRows = Integer.getInteger("bench.adjacentRawRows", 0);
        int rawPasses = Integer.getInteger("bench.adjacentRawPasses", 7);
        boolean adjacent = rawRows > 0 && zip.endsWith(".zip");
        double rawBefore = adjacent ? raw(Path.of(zip), rawRows, rawPasses, 2, null, "before the label job in its JVM")
                : 0;
        MemoryPoolMXBean oldGen = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP && p.getName().matches(".*(Old|Tenured).*"))
                .findFirst().orElse(null);
        long before = heapUsedAfterGc();
        if (oldGen != null) {
            oldGen.resetPeakUsage();
        }
        long[] gc0 = gcTotals();
        long jit0 = jitMillis();
        long faults0 = minorFaults();
        long committed0 = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted();
        long cpu0 = processCpuNanos();
        long t0 = System.nanoTime();
        JobResult result = label(spark, transfer, zip, out);
        double seconds = (System.nanoTime() - t0) / 1e9;
        double cpuSeconds = (processCpuNanos() - cpu0) / 1e9;
        long faults = faults0 < 0 ? -1 : minorFaults() - faults0;
        long committed1 = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted();
        long[] gc1 = gcTotals();
        double jitSeconds = jit0 < 0 ? -1 : (jitMillis() - jit0) / 1e3; // -1: not counted by this JVM
        long oldGenPeak = oldGen == null ? -1 : oldGen.getPeakUsage().getUsed();
        long after = heapUsedAfterGc();
        String inference = Models.teacher(Files.readAllBytes(Path.of(zip)), zip).describe();
        MultiLayerNetwork net = zip.endsWith(".zip") ? Models.fromBytes(Files.readAllBytes(Path.of(zip)), zip)
                : Architecture.parse("mlp:1200,1200", 0).build(FEATURES, CLASSES, DistillationLoss.hardLabelsOnly(),
                1e-3, SEED);
        System.out.printf("{\"engine\":\"label job, Spark local[2] (2 tasks x %s), Parquet in and out,"
                        + " %s\",\"teacher\":\"%s\",\"rows\":%d,\"seconds\":%.2f,\"cpuSeconds\":%.2f,"
                        + "\"gcCount\":%d,\"gcSeconds\":%.2f,\"jitSeconds\":%.2f,\"minorFaults\":%d,"
                        + "\"heapCommittedMB\":[%.0f,%.0f],%s,"
                        + "\"driverHeapUsedBeforeMB\":%.1f,\"driverHeapUsedAfterMB\":%.1f,\"oldGenPeakMB\":%.1f,"
                        + "\"heapMaxMB\":%.0f,\"blasKernel\":\"%s\"}%n",
                ompThreads(), inference, shape(net), result.rows(), seconds, cpuSeconds, gc1[0] - gc0[0],
                (gc1[1] - gc0[1]) / 1e3, jitSeconds, faults, committed0 / 1e6, committed1 / 1e6,
                rates(result.rows(), seconds, flopsPerRow(net)), before / 1e6, after / 1e6, oldGenPeak / 1e6,
                Runtime.getRuntime().maxMemory() / 1e6, BlasKernel.running());
        deleteRecursively(Path.of(out));
        spark.stop();
        if (adjacent) {
            double rawAfter = raw(Path.of(zip), rawRows, rawPasses, 2, null, "after the label job in its JVM");
            double rate = 2 / (1 / rawBefore + 1 / rawAfter); // the teacher's time for the rows: the two rates' mean
            System.out.printf("{\"engine\":\"label job overhead against the raw rates before and after it\","
                            + "\"teacher\":\"%s\",\"rows\":%d,\"seconds\":%.2f,\"rawRowsPerSecondBefore\":%.0f,"
                            + "\"rawRowsPerSecondAfter\":%.0f,\"rawRowsPerSecond\":%.0f,\"overheadUs\":%.3f}%n",
                    shape(net), result.rows(), seconds, rawBefore, rawAfter, rate,
                    (seconds - result.rows() / rate) / result.rows() * 1e6);
        }
    }

    /** The label job once on {@code transfer}, its output kept at {@code out} (replaced if there). */
    static void labelOnce(String transfer, String zip, String out) throws Exception {
        SparkSession spark = Sparks.session("distillery-labelbench", "local[2]");
        deleteRecursively(Path.of(out));
        JobResult result = label(spark, transfer, zip, out);
        System.out.printf("# labelled %d rows of %s into %s%n", result.rows(), transfer, out);
        spark.stop();
    }

    /** Collections and their milliseconds, summed over the JVM's garbage collectors. */
    private static long[] gcTotals() {
        long count = 0;
        long millis = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            count += Math.max(0, gc.getCollectionCount());
            millis += Math.max(0, gc.getCollectionTime());
        }
        return new long[] {count, millis};
    }

    /**
     * Milliseconds the JIT compilers have spent compiling so far, summed over their threads (HotSpot's count; -1
     * where the JVM keeps none): on two cores every compiler thread takes a core from a task.
     */
    private static long jitMillis() {
        java.lang.management.CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : -1;
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static JobResult label(SparkSession spark, String transfer, String zip, String out) {
        return new LabelJob(spark).run(LabelConfig.builder(transfer, out).teacher(zip)
                .temperature(LabelConfig.DEFAULT_TEMPERATURE).batchSize(BATCH).build());
    }

    /**
     * The process's minor page faults so far (/proc/self/stat), or -1 where there is no such file: each is a page
     * of memory touched for the first time, which on some virtual machines costs far more than the work done in it.
     */
    static long minorFaults() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[7]); // minflt, field 10; fields 1 and 2 (pid, command) end at the last ')'
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static long heapUsedAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
