package org.distillery.jobs.label;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.distillery.jobs.common.Sparks;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TransferSchema;

/**
 * The label job's input side alone, in CPU time per row (Spark's task CPU time, so a busy machine inflates it less
 * than wall time): a published transfer set read, each row's features copied into a batch buffer, validated and
 * hashed, no teacher. Ways, alternated pass by pass: {@code rows} (Spark's row projection computing the input hash,
 * the job's fallback), {@code batches} (the scan's column batches, hashed in Java), {@code pages} (the files' pages
 * decoded by {@link PageScan}: the job's default). With
 * {@code output}: the output side alone instead, as many soft-target rows written as Parquet by Spark's writer with
 * and without dictionary encoding of the float columns ({@code dictionary}, {@code plain}), and as the label job
 * writes them ({@code columns}: {@code TransferTables.writeObserved}, parquet-mr's column writers with the content
 * summary).
 * Usage: InputBench TRANSFER_DIR PASSES [output]
 */
public final class InputBench {
    private InputBench() {
    }

    public static void main(String[] args) {
        String transfer = args[0];
        int passes = Integer.parseInt(args[1]);
        SparkSession spark = Sparks.session("distillery-inputbench", "local[2]");
        long[] cpuNanos = new long[1];
        spark.sparkContext().addSparkListener(new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd end) {
                synchronized (cpuNanos) {
                    cpuNanos[0] += end.taskMetrics().executorCpuTime();
                }
            }
        });
        boolean output = args.length > 2 && args[2].equals("output");
        TransferTables.Transfer t = TransferTables.readTransfer(spark, transfer);
        int width = t.featureCount();
        List<String> ways = output ? List.of("dictionary", "plain", "columns") : List.of("rows", "batches", "pages");
        java.util.Map<String, List<double[]>> results = new java.util.LinkedHashMap<>();
        for (int pass = -1; pass < passes; pass++) {
            for (String way : ways) {
                synchronized (cpuNanos) {
                    cpuNanos[0] = 0;
                }
                long t0 = System.nanoTime();
                long[] sums = output ? write(spark, t, way) : run(spark, t, way, width);
                double wall = (System.nanoTime() - t0) / 1e9;
                double cpu;
                synchronized (cpuNanos) {
                    cpu = cpuNanos[0] / 1e9;
                }
                if (pass >= 0) {
                    results.computeIfAbsent(way, k -> new ArrayList<>()).add(new double[] {wall, cpu, sums[0]});
                }
                System.err.printf("pass %d %s: %d rows, wall %.2f s, task CPU %.2f s, hash sum %x%n", pass, way,
                        sums[0], wall, cpu, sums[1]);
            }
        }
        results.forEach((way, r) -> {
            double rows = r.get(0)[2];
            double[] cpu = r.stream().mapToDouble(x -> x[1]).sorted().toArray();
            double[] wall = r.stream().mapToDouble(x -> x[0]).sorted().toArray();
            System.out.printf("{\"engine\":\"label %s side, %s\",\"rows\":%.0f,\"passes\":%d,"
                    + "\"cpuUsPerRowMedian\":%.3f,\"wallSecondsMedian\":%.2f}%n", output ? "output" : "input", way,
                    rows, r.size(), cpu[cpu.length / 2] / rows * 1e6, wall[wall.length / 2]);
        });
        spark.stop();
    }

    /**
     * Writes as many soft-target rows (id, label, 10 logits, 10 soft values, input hash) as the transfer set has
     * rows, to a scratch directory, with or without dictionary encoding of the float columns, or as the label job
     * writes them. Returns (rows, 0).
     */
    private static long[] write(SparkSession spark, TransferTables.Transfer t, String way) {
        long n = (long) t.manifest().number("rows");
        org.distillery.model.schema.SoftTargetLayout layout = org.distillery.model.schema.SoftTargetLayout.v1(10);
        JavaRDD<Row> rows = new org.apache.spark.api.java.JavaSparkContext(spark.sparkContext())
                .parallelize(java.util.stream.LongStream.range(0, 2).boxed().toList(), 2)
                .flatMap(part -> {
                    java.util.SplittableRandom r = new java.util.SplittableRandom(part);
                    return java.util.stream.LongStream.range(part * n / 2, (part + 1) * n / 2).mapToObj(id -> {
                        float[] z = new float[10];
                        float[] p = new float[10];
                        for (int i = 0; i < 10; i++) {
                            z[i] = (float) r.nextGaussian();
                            p[i] = (float) r.nextDouble();
                        }
                        return org.apache.spark.sql.RowFactory.create(id, (int) (id % 10), z, p, r.nextLong());
                    }).iterator();
                });
        Dataset<Row> df = spark.createDataFrame(rows, TransferTables.softTargets(layout));
        String dir = System.getProperty("java.io.tmpdir") + "/inputbench-out-" + way;
        if (way.equals("columns")) {
            try {
                LabelBench.deleteRecursively(java.nio.file.Path.of(dir));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return new long[] {TransferTables.writeObserved(df, dir).getLong(0), 0};
        }
        org.apache.spark.sql.DataFrameWriter<Row> w = df.write().mode("overwrite");
        if (way.equals("plain")) {
            for (String c : List.of("logits", "soft")) {
                w = w.option("parquet.enable.dictionary#" + c + ".list.element", "false");
            }
        }
        w.parquet(dir);
        return new long[] {n, 0};
    }

    /** (rows, sum of input hashes) of one pass over the transfer set. */
    private static long[] run(SparkSession spark, TransferTables.Transfer t, String way, int width) {
        JavaRDD<long[]> parts;
        if (way.equals("rows")) {
            Dataset<Row> input = t.rows().select(TransferSchema.ID, TransferSchema.FEATURES, TransferSchema.LABEL)
                    .withColumn(SoftTargetSchema.INPUT_HASH, TransferTables.inputHash());
            parts = input.queryExecution().toRdd().toJavaRDD().mapPartitions((Iterator<InternalRow> it) -> {
                float[] x = new float[1024 * width];
                long n = 0;
                long h = 0;
                while (it.hasNext()) {
                    InternalRow r = it.next();
                    ArrayData a = r.getArray(1);
                    int o = (int) (n % 1024) * width;
                    for (int j = 0; j < width; j++) {
                        float v = a.getFloat(j);
                        if (!Float.isFinite(v) || a.isNullAt(j)) {
                            throw new IllegalArgumentException("non-finite");
                        }
                        x[o + j] = v;
                    }
                    h += r.getLong(3);
                    n++;
                }
                return List.of(new long[] {n, h}).iterator();
            });
        } else {
            spark.conf().set(PageScan.ENABLED, String.valueOf(way.equals("pages")));
            FeatureBatches b = FeatureBatches.plan(t.rows());
            spark.conf().unset(PageScan.ENABLED);
            parts = b.map(width, cursor -> {
                float[] x = new float[1024 * width];
                long n = 0;
                long h = 0;
                while (cursor.hasNext()) {
                    long id = cursor.id();
                    Integer label = cursor.label();
                    h += cursor.copyAndHash(id, label, x, (int) (n % 1024) * width);
                    n++;
                }
                return List.of(new long[] {n, h}).iterator();
            });
        }
        return parts.reduce((a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
    }
}
