package org.distillery.jobs.ingest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.distillery.model.data.IdxReader;
import org.distillery.model.data.Stratified;
import org.distillery.model.nn.Models;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fashion-MNIST's four IDX files as one source table: {@code id} (the row's index in its IDX file, so stable across
 * reruns; train and test files each count from 0), {@code features} (raw pixels 0..255 as floats), {@code label} and
 * {@code split}: test for the t10k files, and for the training files a stratified, seeded slice of validation rows
 * (ranked by a seeded hash of the id within each class), the rest train.
 */
final class IdxSource {
    private static final Logger LOG = LoggerFactory.getLogger(IdxSource.class);
    static final int CLASSES = 10;
    /** Fashion-MNIST's class names, in label order (Xiao, Rasul and Vollgraf 2017). */
    static final List<String> CLASS_NAMES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
            "Shirt", "Sneaker", "Bag", "Ankle boot");
    static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.LongType, false)
            .add("features", DataTypes.createArrayType(DataTypes.FloatType, false), false)
            .add("label", DataTypes.IntegerType, false)
            .add("split", DataTypes.StringType, false);

    /** The IDX files of one split. */
    record IdxFiles(String name, String images, String labels) {
    }

    static final IdxFiles TRAIN = new IdxFiles("train", "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
    static final IdxFiles TEST = new IdxFiles("test", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");

    /** One pair of IDX files, read and checked. */
    record Loaded(byte[][] images, int[] labels, Map<String, String> sha256) {
        int pixels() {
            return images[0].length;
        }
    }

    private IdxSource() {
    }

    /** Both files of a split, read and checked (row counts agree, labels within the 10 classes). */
    static Loaded load(String source, IdxFiles split) {
        Path images = locate(source, split.images());
        Path labels = locate(source, split.labels());
        try {
            byte[][] x = IdxReader.readImages(images);
            int[] y = IdxReader.readLabels(labels);
            if (x.length != y.length) {
                throw new IllegalArgumentException("IDX files disagree on row count: " + images + " has " + x.length
                        + ", " + labels + " has " + y.length);
            }
            for (int i = 0; i < y.length; i++) {
                if (y[i] >= CLASSES) {
                    throw new IllegalArgumentException("label " + y[i] + " out of range [0, " + CLASSES + ") in "
                            + labels + ": row id " + i);
                }
            }
            LOG.info("read {} {} images of {} pixels from {}", x.length, split.name(), x[0].length, images);
            Map<String, String> sha = new LinkedHashMap<>();
            sha.put(images.getFileName().toString(), Models.sha256(Files.readAllBytes(images)));
            sha.put(labels.getFileName().toString(), Models.sha256(Files.readAllBytes(labels)));
            return new Loaded(x, y, sha);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read IDX files in " + source, e);
        }
    }

    private static Path locate(String source, String base) {
        for (String name : List.of(base + ".gz", base)) {
            Path p = Path.of(source, name);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new IllegalArgumentException("Fashion-MNIST file " + base + "[.gz] not found in --source " + source
                + " (install the Debian package dataset-fashion-mnist or pass --source DIR)");
    }

    /** Checks the validation row count against the training file. */
    static void checkValidation(Loaded train, int validation) {
        if (validation >= train.labels().length) {
            throw new IllegalArgumentException("validation rows (" + validation
                    + ") must be fewer than the training split's " + train.labels().length + " rows");
        }
    }

    /** Marks {@code n} rows, stratified by label and ranked by a seeded hash of the id. */
    static boolean[] validationSlice(int[] labels, int n, long seed) {
        long[] counts = new long[CLASSES];
        for (int y : labels) {
            counts[y]++;
        }
        long[] quota = Stratified.quotas(counts, n);
        boolean[] chosen = new boolean[labels.length];
        for (int c = 0; c < CLASSES; c++) {
            final int cls = c;
            Integer[] rows = IntStream.range(0, labels.length).filter(i -> labels[i] == cls).boxed()
                    .toArray(Integer[]::new);
            Arrays.sort(rows, Comparator.comparingLong(i -> Stratified.rank(seed, i)));
            for (int k = 0; k < quota[c]; k++) {
                chosen[rows[k]] = true;
            }
        }
        return chosen;
    }

    /** The source table of both files; the arrays are broadcast, rows are made on the executors. */
    static Dataset<Row> rows(SparkSession spark, Loaded train, Loaded test, int validation, long seed,
                             List<Broadcast<?>> broadcasts) {
        boolean[] heldOut = validationSlice(train.labels(), validation, seed);
        return spark.createDataFrame(rdd(spark, train, heldOut, broadcasts), SCHEMA)
                .union(spark.createDataFrame(rdd(spark, test, null, broadcasts), SCHEMA));
    }

    private static JavaRDD<Row> rdd(SparkSession spark, Loaded data, boolean[] heldOut, List<Broadcast<?>> broadcasts) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<byte[][]> images = jsc.broadcast(data.images());
        Broadcast<int[]> labels = jsc.broadcast(data.labels());
        Broadcast<boolean[]> mask = heldOut == null ? null : jsc.broadcast(heldOut);
        broadcasts.addAll(mask == null ? List.of(images, labels) : List.of(images, labels, mask));
        int total = data.labels().length;
        int slices = Math.max(1, total / 10_000);
        List<Integer> chunks = IntStream.range(0, slices).boxed().toList();
        return jsc.parallelize(new ArrayList<>(chunks), slices).flatMap(chunk -> {
            int from = (int) ((long) total * chunk / slices);
            int to = (int) ((long) total * (chunk + 1) / slices);
            List<Row> out = new ArrayList<>(to - from);
            for (int i = from; i < to; i++) {
                String split = mask == null ? "test" : mask.value()[i] ? "validation" : "train";
                out.add(RowFactory.create((long) i, pixels(images.value()[i]), labels.value()[i], split));
            }
            return out.iterator();
        });
    }

    private static float[] pixels(byte[] image) {
        float[] f = new float[image.length];
        for (int i = 0; i < image.length; i++) {
            f[i] = image[i] & 0xFF;
        }
        return f;
    }

    /** [1, side, side] for square grey images such as Fashion-MNIST's, else [pixels]. */
    static List<Integer> shape(int pixels) {
        int side = (int) Math.round(Math.sqrt(pixels));
        return side * side == pixels ? List.of(1, side, side) : List.of(pixels);
    }
}
