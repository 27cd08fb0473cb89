package org.distillery.jobs;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.nn.Architecture;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Tiny seeded data made in code: transfer sets of class-dependent blobs in [0, 1] (learnable in a few epochs) and
 * small teachers, published the way the jobs publish them.
 */
public final class Fixtures {
    public static final int FEATURES = 16;
    public static final int CLASSES = 4;

    private Fixtures() {
    }

    /** Row features: a per-class prototype plus noise, clipped to [0, 1]. */
    public static float[][] features(int n, int[] labels, long seed) {
        Random protoRng = new Random(1234);
        float[][] proto = new float[CLASSES][FEATURES];
        for (float[] p : proto) {
            for (int j = 0; j < FEATURES; j++) {
                p[j] = protoRng.nextFloat();
            }
        }
        Random rng = new Random(seed);
        float[][] x = new float[n][FEATURES];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < FEATURES; j++) {
                x[i][j] = Math.min(1f, Math.max(0f, proto[labels[i]][j] + 0.25f * (float) rng.nextGaussian()));
            }
        }
        return x;
    }

    public static int[] labels(int n, long seed) {
        Random rng = new Random(seed);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = rng.nextInt(CLASSES);
        }
        return y;
    }

    /** Publishes a transfer set of {@code n} rows at {@code path}; ids start at {@code firstId}. */
    public static String transferSet(SparkSession spark, String path, int n, long seed, long firstId) {
        int[] y = labels(n, seed);
        float[][] x = features(n, y, seed + 1);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(RowFactory.create(firstId + i, x[i], y[i]));
        }
        return publishTransfer(spark, path, rows, FEATURES);
    }

    /** Publishes arbitrary transfer rows (id, features, label) with a manifest declaring {@code featureCount}. */
    public static String publishTransfer(SparkSession spark, String path, List<Row> rows, int featureCount) {
        return publishTransfer(spark, path, rows, featureCount, CLASSES, null);
    }

    /** As {@link #publishTransfer(SparkSession, String, List, int)}, with more manifest facts (e.g. exampleShape). */
    public static String publishTransfer(SparkSession spark, String path, List<Row> rows, int featureCount,
                                         Map<String, Object> moreFacts) {
        return publishTransfer(spark, path, rows, featureCount, CLASSES, null, moreFacts);
    }

    /**
     * Publishes transfer rows whose manifest declares {@code classes} and, unless null, the example shape
     * {@code shape} ({@link TransferSchema#SHAPE}).
     */
    public static String publishTransfer(SparkSession spark, String path, List<Row> rows, int featureCount,
                                         int classes, int[] shape) {
        return publishTransfer(spark, path, rows, featureCount, classes, shape, Map.of());
    }

    private static String publishTransfer(SparkSession spark, String path, List<Row> rows, int featureCount,
                                          int classes, int[] shape, Map<String, Object> moreFacts) {
        return publishTransferFiles(spark, path, rows.size(), featureCount, classes, shape, moreFacts,
                dir -> TransferTables.write(spark.createDataFrame(rows, TransferTables.SCHEMA).repartition(3), dir));
    }

    /**
     * Publishes a transfer set of {@code rows} rows whose part files {@code write} writes into the staging directory
     * it is given (as another writer would: other Parquet layouts, other writers).
     */
    public static String publishTransferFiles(SparkSession spark, String path, long rows, int featureCount,
                                              java.util.function.Consumer<String> write) {
        return publishTransferFiles(spark, path, rows, featureCount, CLASSES, null, Map.of(), write);
    }

    private static String publishTransferFiles(SparkSession spark, String path, long rows, int featureCount,
                                               int classes, int[] shape, Map<String, Object> moreFacts,
                                               java.util.function.Consumer<String> write) {
        Storage storage = Storage.of(spark);
        try (StagedOutput out = StagedOutput.begin(storage, path)) {
            write.accept(out.stagingDir());
            Map<String, Object> facts = Manifest.facts("rows", rows, TransferSchema.FEATURE_COUNT, featureCount,
                    TransferSchema.CLASSES, classes, TransferSchema.SCHEMA_VERSION, TransferSchema.VERSION);
            if (shape != null) {
                facts.put(TransferSchema.SHAPE, java.util.Arrays.stream(shape).boxed().toList());
            }
            facts.putAll(moreFacts);
            out.publish(Manifest.sealed("ingest", Map.of("fixture", path), Map.of(), facts, Map.of(), null),
                    rows, System.nanoTime());
            return out.target();
        }
    }

    /** A small teacher fitted locally for a few passes on the fixture distribution, saved as a bare DL4J zip. */
    public static MultiLayerNetwork teacher(long seed, int epochs) {
        MultiLayerNetwork net = new Architecture(List.of(32), 0).build(FEATURES, CLASSES,
                DistillationLoss.hardLabelsOnly(), 0.01, seed);
        int n = 256;
        int[] y = labels(n, seed);
        float[][] x = features(n, y, seed + 1);
        float[] targets = new float[n * 2 * CLASSES];
        for (int i = 0; i < n; i++) {
            targets[i * 2 * CLASSES + CLASSES + y[i]] = 1f;
        }
        DataSet ds = new DataSet(Nd4j.create(x).castTo(DataType.FLOAT),
                Nd4j.create(targets, new long[] {n, 2 * CLASSES}, DataType.FLOAT));
        for (int e = 0; e < epochs; e++) {
            net.fit(ds);
        }
        return net;
    }

    public static String saveZip(SparkSession spark, MultiLayerNetwork net, String path) {
        Storage.of(spark).writeBytes(path, Models.toBytes(net, false));
        return path;
    }

    /** The sentence the text fixture's documents are cut from. */
    public static final String SENTENCE = "the quick brown fox jumps over the lazy dog. ";

    /**
     * A tiny learnable corpus in {@code dir}/corpus: 120 one-line documents, each a slice of {@link #SENTENCE}
     * repeated, from a seeded offset and length; returns the folder (ingest it with --window 16 --burn-in 4).
     */
    public static Path textCorpus(Path dir) throws java.io.IOException {
        Random r = new Random(20);
        StringBuilder lines = new StringBuilder();
        String repeated = SENTENCE.repeat(4);
        for (int i = 0; i < 120; i++) {
            int from = r.nextInt(SENTENCE.length());
            lines.append(repeated, from, from + 30 + r.nextInt(50)).append('\n');
        }
        Files.createDirectories(dir.resolve("corpus"));
        Files.writeString(dir.resolve("corpus").resolve("lines.txt"), lines.toString());
        return dir.resolve("corpus");
    }
}
