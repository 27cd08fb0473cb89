package org.distillery.jobs.ingest;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.distillery.jobs.common.Sparks;
import org.distillery.jobs.ingest.IngestConfig.Format;
import org.distillery.jobs.ingest.IngestConfig.Splits;
import org.distillery.model.data.IdxReader;
import org.distillery.model.schema.Manifest;

/**
 * Benchmark, not a test (docs/scripts/bench-ingest.sh runs it): the ingest job against a plain Spark read + write of
 * the same table in the same JVM, runs alternated, in Spark {@code local[2]}; and PNG decoding, one thread, against
 * Pillow (docs/scripts/bench_ingest_pil.py) on the same bytes. Prints one JSON line per timed run. Usage:
 * <pre>
 *   IngestBench data DIR ROWS          write DIR/table.csv (784 numeric columns px_0..), DIR/table.parquet (an array
 *                                      column) and DIR/png.parquet + DIR/png.bin (Fashion-MNIST images as PNG bytes)
 *   IngestBench table DIR CASE ROWS RUNS  CASE csv or parquet: a warm-up pair on 20,000 rows, then RUNS x (plain
 *                                      Spark read + write, ingest) on ROWS rows, alternated
 *   IngestBench decode DIR PASSES      ImageDecoder over png.bin in memory, one thread, PASSES timed passes
 *   IngestBench images DIR RUNS        the ingest job over png.parquet (decode, scale, write), alternated with a
 *                                      plain read + write of the same table
 * </pre>
 * Rows look like raw pixels: half zeros, the rest 1..255, seeded by the row id; ids 0..N-1, label "c0".."c9". The
 * ingest command is what a user would run: --id id --label label, --features-prefix px_ (CSV) or --features
 * features (Parquet), --scale 1/255, --split validation=0.1,test=0.1.
 */
public final class IngestBench {
    static final int FEATURES = 784;
    static final int WARMUP_ROWS = 20_000;

    private IngestBench() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "data" -> data(Path.of(args[1]), Long.parseLong(args[2]));
            case "table" -> table(Path.of(args[1]), args[2], Long.parseLong(args[3]), Integer.parseInt(args[4]));
            case "decode" -> decode(Path.of(args[1]), Integer.parseInt(args[2]));
            case "images" -> images(Path.of(args[1]), Integer.parseInt(args[2]));
            default -> throw new IllegalArgumentException("mode must be data, table, decode or images, got " + args[0]);
        }
    }

    static float pixel(long id, int j) {
        SplittableRandom rng = new SplittableRandom(id * 0x9E3779B97F4A7C15L + j);
        int k = rng.nextInt(510);
        return k < 255 ? 0f : k - 254;
    }

    /** Rows ids [0, rows): id, label, features (array of raw pixel values). */
    static Dataset<Row> rows(SparkSession spark, long rows) {
        int parts = (int) Math.max(2, rows / 50_000);
        JavaRDD<Row> data = spark.range(0, rows, 1, parts).javaRDD().map(id -> {
            float[] x = new float[FEATURES];
            for (int j = 0; j < FEATURES; j++) {
                x[j] = pixel(id, j);
            }
            return RowFactory.create(id, "c" + Math.floorMod(id * 31 + 7, 10L), x);
        });
        StructType schema = new StructType().add("id", DataTypes.LongType).add("label", DataTypes.StringType)
                .add("features", DataTypes.createArrayType(DataTypes.FloatType, false));
        return spark.createDataFrame(data, schema);
    }

    static void data(Path dir, long rows) throws IOException {
        SparkSession spark = Sparks.session("distillery-ingestbench-data", "local[2]");
        for (long n : List.of((long) WARMUP_ROWS, rows)) {
            Path parquet = dir.resolve("table-" + n + ".parquet");
            if (!Files.exists(parquet)) {
                rows(spark, n).write().parquet(parquet.toString());
            }
            Path csv = dir.resolve("table-" + n + ".csv");
            if (!Files.exists(csv)) {
                List<org.apache.spark.sql.Column> cols = new ArrayList<>(List.of(functions.col("id"),
                        functions.col("label")));
                for (int j = 0; j < FEATURES; j++) {
                    cols.add(functions.col("features").getItem(j).cast("int").as("px_" + j));
                }
                spark.read().parquet(parquet.toString()).select(cols.toArray(org.apache.spark.sql.Column[]::new))
                        .write().option("header", "true").csv(csv.toString());
            }
            System.out.printf("# table of %d rows: %s (%d MB), %s (%d MB)%n", n, csv, size(csv) >> 20, parquet,
                    size(parquet) >> 20);
        }
        pngs(spark, dir);
        spark.stop();
    }

    /** Fashion-MNIST's 70,000 images as PNG bytes: a Parquet table and a length-prefixed file for Pillow. */
    static void pngs(SparkSession spark, Path dir) throws IOException {
        Path bin = dir.resolve("png.bin");
        Path parquet = dir.resolve("png.parquet");
        if (Files.exists(bin) && Files.exists(parquet)) {
            return;
        }
        String source = System.getProperty("bench.idx", IngestConfig.DEFAULT_SOURCE);
        List<byte[]> images = new ArrayList<>();
        for (String f : List.of("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz")) {
            for (byte[] pixels : IdxReader.readImages(Path.of(source, f))) {
                BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
                img.getRaster().setDataElements(0, 0, 28, 28, pixels);
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                ImageIO.write(img, "png", out);
                images.add(out.toByteArray());
            }
        }
        try (OutputStream o = Files.newOutputStream(bin); DataOutputStream out = new DataOutputStream(o)) {
            for (byte[] png : images) {
                out.writeInt(png.length);
                out.write(png);
            }
        }
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            rows.add(RowFactory.create((long) i, "c" + (i % 10), images.get(i)));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("label", DataTypes.StringType)
                .add("png", DataTypes.BinaryType);
        spark.createDataFrame(rows, schema).repartition(4).write().parquet(parquet.toString());
        System.out.printf("# %d PNG images (%d bytes on average) in %s and %s%n", images.size(),
                Files.size(bin) / images.size(), bin, parquet);
    }

    static List<byte[]> readPngs(Path bin) throws IOException {
        List<byte[]> out = new ArrayList<>();
        try (java.io.DataInputStream in = new java.io.DataInputStream(new java.io.BufferedInputStream(
                Files.newInputStream(bin)))) {
            while (in.available() > 0) {
                byte[] b = new byte[in.readInt()];
                in.readFully(b);
                out.add(b);
            }
        }
        return out;
    }

    /**
     * CPU time of this JVM (every thread), beside each run's wall time: on a machine other work shares, wall time
     * moves with the load, CPU time much less.
     */
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static long size(Path p) throws IOException {
        try (Stream<Path> files = Files.walk(p)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
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

    private static IngestConfig ingest(String source, Format format, String out) {
        IngestConfig.Builder b = IngestConfig.builder().source(source, format).id("id").label("label").scale("1/255")
                .splits(Splits.fractions(0.1, 0.1)).out(out);
        return format == Format.CSV
                ? b.options(Map.of("header", "true", "inferSchema", "true")).featuresPrefix("px_").build()
                : b.features("features").build();
    }

    private static void plain(SparkSession spark, String source, Format format, String out) {
        Dataset<Row> in = format == Format.CSV
                ? spark.read().option("header", "true").option("inferSchema", "true").csv(source)
                : spark.read().parquet(source);
        in.write().parquet(out);
    }

    /** Warm-up pair on the small table, then RUNS alternated pairs on the big one; one JSON line per timed run. */
    static void table(Path dir, String kind, long rows, int runs) throws IOException {
        Format format = kind.equals("csv") ? Format.CSV : Format.PARQUET;
        String ext = format == Format.CSV ? ".csv" : ".parquet";
        SparkSession spark = Sparks.session("distillery-ingestbench", "local[2]");
        Path out = dir.resolve("out");
        for (int run = -1; run < runs; run++) {
            long n = run < 0 ? WARMUP_ROWS : rows;
            String source = dir.resolve("table-" + n + ext).toString();
            for (String engine : run % 2 == 0 ? List.of("plain", "ingest") : List.of("ingest", "plain")) {
                delete(out);
                long t0 = System.nanoTime();
                long c0 = cpuNanos();
                if (engine.equals("plain")) {
                    plain(spark, source, format, out.toString());
                } else {
                    new IngestJob(spark).run(ingest(source, format, out.toString()));
                }
                double s = (System.nanoTime() - t0) / 1e9;
                if (run >= 0) {
                    System.out.println(Manifest.oneLine(Map.of("bench", "table", "case", kind, "engine", engine,
                            "run", run, "rows", n, "seconds", s, "cpuSeconds", (cpuNanos() - c0) / 1e9,
                            "rowsPerSecond", n / s)));
                }
            }
        }
        delete(out);
        spark.stop();
    }

    /** One thread decoding every PNG to a float example (as the ingest UDF does), PASSES timed passes. */
    static void decode(Path dir, int passes) throws IOException {
        List<byte[]> pngs = readPngs(dir.resolve("png.bin"));
        ImageDecoder decoder = new ImageDecoder(new ImageShape(1, 28, 28), false);
        double sink = 0;
        for (int i = 0; i < Math.min(10_000, pngs.size()); i++) { // warm-up
            sink += decoder.fromBytes(pngs.get(i), "w")[0];
        }
        for (int pass = 0; pass < passes; pass++) {
            long t0 = System.nanoTime();
            for (byte[] png : pngs) {
                sink += decoder.fromBytes(png, "x")[100];
            }
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.println(Manifest.oneLine(Map.of("bench", "decode", "engine", "java ImageIO (ImageDecoder), 1"
                    + " thread", "pass", pass, "rows", pngs.size(), "seconds", s, "rowsPerSecond", pngs.size() / s)));
        }
        if (sink == 42) {
            System.out.println("#");
        }
    }

    /** The ingest job over the PNG table (2 task threads) against a plain read + write of it, alternated. */
    static void images(Path dir, int runs) throws IOException {
        SparkSession spark = Sparks.session("distillery-ingestbench-images", "local[2]");
        String source = dir.resolve("png.parquet").toString();
        long rows = spark.read().parquet(source).count();
        Path out = dir.resolve("out-images");
        for (int run = -1; run < runs; run++) {
            for (String engine : run % 2 == 0 ? List.of("plain", "ingest") : List.of("ingest", "plain")) {
                delete(out);
                long t0 = System.nanoTime();
                long c0 = cpuNanos();
                if (engine.equals("plain")) {
                    spark.read().parquet(source).write().parquet(out.toString());
                } else {
                    new IngestJob(spark).run(IngestConfig.builder().source(source, Format.PARQUET).id("id")
                            .label("label").features("png").scale("1/255").splits(Splits.fractions(0.1, 0.1))
                            .out(out.toString()).build());
                }
                double s = (System.nanoTime() - t0) / 1e9;
                if (run >= 0) {
                    System.out.println(Manifest.oneLine(Map.of("bench", "images", "engine", engine, "run", run,
                            "rows", rows, "seconds", s, "cpuSeconds", (cpuNanos() - c0) / 1e9,
                            "rowsPerSecond", rows / s)));
                }
            }
        }
        delete(out);
        spark.stop();
    }
}
