package org.distillery.jobs.label;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.Sparks;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.nn.Architecture;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetCodec;
import org.distillery.model.schema.TransferSchema;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import scala.Tuple2;

/**
 * Benchmark, not a test (docs/PERFORMANCE.md, "Soft-target storage"): bytes per row of the label job's storage modes
 * on a synthetic 1000-class teacher, and what top-K costs in fidelity. Usage: {@code StorageBench [ROWS=20000]
 * [DIR=a new temporary directory; must be new or empty]}; prints one JSON line per mode, then a Markdown table.
 *
 * <p>The teacher is a real DL4J network run by the real label job, with weights set by hand so that its logits have
 * the shape of a trained many-class teacher: 1000 random class prototypes p_c in R^64, rows x = p_y + 0.5 noise for a
 * random class y, and logits z_c = 1.25 &lt;p_c, x&gt; / 8 (an MLP 64 -> 64 -> 1000 whose ReLU layer is the identity
 * shifted into its linear range). The row's own class stands out (z_y ~ 10) of a Gaussian tail of 999 logits
 * (sd ~ 1.4): a peaked distribution whose remaining mass is spread thinly, as with ImageNet teachers. Random
 * initialisation alone gives nearly flat logits, which would flatter fp16 and make top-K meaningless.
 *
 * <p>Bytes per row = the summed size of the output's Parquet part files (Spark's default snappy compression) / rows.
 * KL is mean KL(p_full || p_stored) over rows, p = softmax(z / T) of the teacher's fp32 logits (the fp32 + soft
 * output) and of the stored logits as the trainer decodes them ({@link SoftTargetCodec}).
 */
public final class StorageBench {
    static final int FEATURES = 64;
    static final int CLASSES = 1000;
    static final double TEMPERATURE = 2.0;
    private static final float SCALE = 1.25f;
    private static final float SHIFT = 10f; // keeps the hidden ReLU in its linear range (inputs are > -10)

    private record Mode(String name, String precision, Integer topK, Boolean soft) {
    }

    private static final List<Mode> MODES = List.of(
            new Mode("fp32 + soft (v1, default)", null, null, null),
            new Mode("fp32", null, null, false),
            new Mode("fp16", "fp16", null, null),
            new Mode("top-10 fp32", null, 10, null),
            new Mode("top-10 fp16", "fp16", 10, null),
            new Mode("top-50 fp16", "fp16", 50, null));

    private StorageBench() {
    }

    public static void main(String[] args) throws IOException {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        Path dir = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("storage-bench");
        if (Files.isDirectory(dir)) {
            try (Stream<Path> existing = Files.list(dir)) {
                if (existing.findAny().isPresent()) {
                    throw new IllegalArgumentException("bench directory must be new or empty: " + dir);
                }
            }
        }
        SparkSession spark = Sparks.session("storage-bench", "local[2]");
        float[][] prototypes = gaussian(CLASSES, FEATURES, new Random(1));
        String transfer = transferSet(spark, dir.resolve("transfer").toString(), rows, prototypes);
        String teacher = dir.resolve("teacher.zip").toString();
        Storage.of(spark).writeBytes(teacher, Models.toBytes(teacher(prototypes), false));

        Dataset<Row> exact = null;
        List<Map<String, Object>> results = new ArrayList<>();
        for (Mode mode : MODES) {
            LabelConfig config = LabelConfig.builder(transfer, dir.resolve("soft-" + results.size()).toString())
                    .teacher(teacher).temperature(TEMPERATURE).batchSize(LabelConfig.DEFAULT_BATCH).build()
                    .withStorage(mode.precision(), mode.topK(), mode.soft());
            JobResult r = new LabelJob(spark).run(config);
            Dataset<Row> decoded = TransferTables.readSoftTargets(spark, r.path()).logits();
            exact = exact == null ? decoded.cache() : exact;
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("mode", mode.name());
            m.put("storage", config.layout(CLASSES).describe());
            m.put("rows", r.rows());
            m.put("bytesPerRow", partBytes(r.path()) / (double) r.rows());
            m.put("labelSeconds", r.seconds());
            m.putAll(fidelity(exact, decoded, mode.topK() == null ? CLASSES : mode.topK()));
            results.add(m);
            System.out.println(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(m));
        }
        System.out.println(table(results));
        spark.stop();
    }

    private static float[][] gaussian(int n, int d, Random rng) {
        float[][] v = new float[n][d];
        for (float[] row : v) {
            for (int j = 0; j < d; j++) {
                row[j] = (float) rng.nextGaussian();
            }
        }
        return v;
    }

    /** Rows x = p_y + 0.5 noise, every row labelled, published as ingest would. */
    private static String transferSet(SparkSession spark, String path, int n, float[][] prototypes) {
        Random rng = new Random(2);
        List<Row> rows = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int y = rng.nextInt(CLASSES);
            float[] x = new float[FEATURES];
            for (int j = 0; j < FEATURES; j++) {
                x[j] = prototypes[y][j] + 0.5f * (float) rng.nextGaussian();
            }
            rows.add(RowFactory.create((long) i, x, y));
        }
        Storage storage = Storage.of(spark);
        try (StagedOutput out = StagedOutput.begin(storage, path)) {
            TransferTables.write(spark.createDataFrame(rows, TransferTables.SCHEMA).repartition(2), out.stagingDir());
            out.publish(Manifest.sealed("ingest", Map.of("bench", "StorageBench"), Map.of(),
                    Manifest.facts("rows", n, TransferSchema.FEATURE_COUNT, FEATURES, TransferSchema.CLASSES, CLASSES,
                            TransferSchema.SCHEMA_VERSION, TransferSchema.VERSION), Map.of(), null),
                    n, System.nanoTime());
            return out.target();
        }
    }

    /** MLP 64 -> 64 -> 1000 computing SCALE * P x / 8: an identity hidden layer shifted by SHIFT, undone by a bias. */
    private static MultiLayerNetwork teacher(float[][] prototypes) {
        MultiLayerNetwork net = new Architecture(List.of(FEATURES), 0).build(FEATURES, CLASSES,
                DistillationLoss.hardLabelsOnly(), 1e-3, 1);
        net.getLayer(0).getParam("W").assign(Nd4j.eye(FEATURES).castTo(DataType.FLOAT));
        net.getLayer(0).getParam("b").assign(SHIFT);
        float[][] w = new float[FEATURES][CLASSES];
        float[] b = new float[CLASSES];
        for (int c = 0; c < CLASSES; c++) {
            for (int j = 0; j < FEATURES; j++) {
                w[j][c] = SCALE * prototypes[c][j] / (float) Math.sqrt(FEATURES);
                b[c] -= SHIFT * w[j][c];
            }
        }
        INDArray weights = Nd4j.create(w).castTo(DataType.FLOAT);
        net.getLayer(1).getParam("W").assign(weights);
        net.getLayer(1).getParam("b").assign(Nd4j.create(b, new long[] {1, CLASSES}, DataType.FLOAT));
        return net;
    }

    /** Summed size of the Parquet part files of a (local) output directory. */
    private static long partBytes(String output) throws IOException {
        long bytes = 0;
        try (Stream<Path> files = Files.list(Path.of(output.replaceFirst("^file:", "")))) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                bytes += name.startsWith("part-") && name.endsWith(".parquet") ? Files.size(f) : 0;
            }
        }
        return bytes;
    }

    /** Mean KL(full || stored) at T = 1 and 4, the exact mass outside the top K, and the teacher's mean max prob. */
    private static Map<String, Object> fidelity(Dataset<Row> exact, Dataset<Row> decoded, int k) {
        double[] sums = exact.select("id", "logits").javaRDD()
                .mapToPair(r -> new Tuple2<>(r.getLong(0), TransferTables.floats(r, 1)))
                .join(decoded.select("id", "logits").javaRDD()
                        .mapToPair(r -> new Tuple2<>(r.getLong(0), TransferTables.floats(r, 1))))
                .values()
                .map(p -> {
                    float[] p1 = SoftTargets.soften(p._1(), 1);
                    float[] p4 = SoftTargets.soften(p._1(), 4);
                    double tail = 1;
                    for (int i : SoftTargetCodec.topK(p._1(), k).index()) {
                        tail -= p1[i];
                    }
                    return new double[] {SoftTargets.kl(p1, SoftTargets.soften(p._2(), 1)),
                        SoftTargets.kl(p4, SoftTargets.soften(p._2(), 4)), Math.max(0, tail),
                        p1[SoftTargets.argmax(p._1())], 1};
                })
                .reduce((a, b) -> new double[] {a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4]});
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("meanKlT1", sums[0] / sums[4]);
        m.put("meanKlT4", sums[1] / sums[4]);
        m.put("meanTailMassT1", sums[2] / sums[4]);
        m.put("teacherMeanMaxProbT1", sums[3] / sums[4]);
        return m;
    }

    private static String table(List<Map<String, Object>> results) {
        double base = (double) results.get(0).get("bytesPerRow");
        StringBuilder b = new StringBuilder("| mode | bytes/row | vs fp32 + soft | mass outside top K (T = 1)"
                + " | mean KL(full ‖ stored), T = 1 | T = 4 | label s |\n|---|---|---|---|---|---|---|\n");
        for (Map<String, Object> m : results) {
            double bytes = (double) m.get("bytesPerRow");
            b.append(String.format("| %s | %.0f | %.2f | %.4f | %.2e | %.2e | %.1f |%n", m.get("mode"), bytes,
                    bytes / base, m.get("meanTailMassT1"), m.get("meanKlT1"), m.get("meanKlT4"),
                    m.get("labelSeconds")));
        }
        b.append(String.format("teacher: %d classes, mean max probability at T = 1: %.3f%n", CLASSES,
                results.get(0).get("teacherMeanMaxProbT1")));
        return b.toString();
    }
}
