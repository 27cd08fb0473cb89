package org.distillery.jobs.ingest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.model.data.IdxReader;
import org.distillery.model.data.Stratified;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fashion-MNIST IDX files to Parquet transfer sets: {@code train} (the training split less a stratified, seeded
 * validation slice), {@code validation} and {@code test}. Ids are the row's index in its IDX file, so they are stable
 * across reruns; pixels become floats in [0, 1].
 */
public final class IngestJob {
    private static final Logger LOG = LoggerFactory.getLogger(IngestJob.class);
    static final int CLASSES = 10;
    /** What {@link #pixels} does, as the transfer manifest states it. */
    static final String PREPROCESSING = "pixel / 255: uint8 grey levels as float32 in [0, 1], no standardisation";
    private final SparkSession spark;

    public IngestJob(SparkSession spark) {
        this.spark = spark;
    }

    /** The IDX files of one split. */
    record Split(String name, String images, String labels) {
    }

    static final Split TRAIN = new Split("train", "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
    static final Split TEST = new Split("test", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");

    /** Reads and checks the IDX files and the output rule without Spark, and says what a run would write. */
    public static DryRun dryRun(Storage storage, IngestConfig config) {
        OutputRule.of(storage).input("--source", config.source()).check("--out", config.out());
        DryRun plan = new DryRun("ingest");
        Loaded train = load(config.source(), TRAIN);
        Loaded test = load(config.source(), TEST);
        if (config.validation() >= train.labels.length) {
            throw new IllegalArgumentException("validation rows (" + config.validation()
                    + ") must be fewer than the training split's " + train.labels.length + " rows");
        }
        plan.with("source", config.source() + " (" + train.labels.length + " train, " + test.labels.length
                + " test images of " + train.images[0].length + " pixels)");
        long[] rows = {train.labels.length - config.validation(), config.validation(), test.labels.length};
        String[] names = {"train", "validation", "test"};
        for (int i = 0; i < names.length; i++) {
            String target = config.out() + "/" + names[i];
            boolean kept = reusable(storage, config, names[i]) != null;
            if (!kept) {
                StagedOutput.failIfExists(storage, target);
            }
            plan.with(names[i], storage.qualify(target) + " (" + rows[i] + " rows, "
                    + (kept ? "already published by this config: kept" : "new") + ")");
        }
        return plan;
    }

    /**
     * Publishes the three splits. A split already published by this same config (an interrupted earlier run) is kept
     * and reported with 0 seconds; one published by a different config is refused before any work starts.
     */
    public List<JobResult> run(IngestConfig config) {
        Storage storage = Storage.of(spark);
        OutputRule.of(storage).input("--source", config.source()).check("--out", config.out());
        for (String name : List.of("train", "validation", "test")) {
            if (reusable(storage, config, name) == null) {
                StagedOutput.failIfExists(storage, config.out() + "/" + name);
            }
        }
        List<JobResult> results = new ArrayList<>();
        Loaded train = load(config.source(), TRAIN);
        if (config.validation() >= train.labels.length) {
            throw new IllegalArgumentException("validation rows (" + config.validation()
                    + ") must be fewer than the training split's " + train.labels.length + " rows");
        }
        boolean[] heldOut = validationSlice(train.labels, config.validation(), config.seed());
        results.add(write(config, train, "train", heldOut, false));
        results.add(write(config, train, "validation", heldOut, true));
        Loaded test = load(config.source(), TEST);
        results.add(write(config, test, "test", new boolean[test.labels.length], false));
        return results;
    }

    private record Loaded(Split split, byte[][] images, int[] labels, Map<String, String> sha256) {
    }

    private static Loaded load(String source, Split split) {
        Path images = locate(source, split.images());
        Path labels = locate(source, split.labels());
        try {
            byte[][] x = IdxReader.readImages(images);
            int[] y = IdxReader.readLabels(labels);
            if (x.length != y.length) {
                throw new IllegalArgumentException("IDX files disagree on row count: " + images + " has " + x.length
                        + ", " + labels + " has " + y.length);
            }
            for (int label : y) {
                if (label >= CLASSES) {
                    throw new IllegalArgumentException("label " + label + " out of range [0, " + CLASSES + ") in " + labels);
                }
            }
            LOG.info("read {} {} images of {} pixels from {}", x.length, split.name(), x[0].length, images);
            return new Loaded(split, x, y, Map.of(images.getFileName().toString(), Models.sha256(Files.readAllBytes(images)),
                    labels.getFileName().toString(), Models.sha256(Files.readAllBytes(labels))));
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
            Integer[] rows = java.util.stream.IntStream.range(0, labels.length).filter(i -> labels[i] == cls)
                    .boxed().toArray(Integer[]::new);
            Arrays.sort(rows, Comparator.comparingLong(i -> Stratified.rank(seed, i)));
            for (int k = 0; k < quota[c]; k++) {
                chosen[rows[k]] = true;
            }
        }
        return chosen;
    }

    /** The manifest of split {@code name} when it is already published with exactly {@code config}, else null. */
    private static Manifest reusable(Storage storage, IngestConfig config, String name) {
        String dir = config.out() + "/" + name;
        if (!storage.exists(dir + "/" + Manifest.SUCCESS)) {
            return null;
        }
        Manifest m = storage.publishedManifest(dir);
        return m.madeBy(config) ? m : null;
    }

    private JobResult write(IngestConfig config, Loaded data, String name, boolean[] heldOut, boolean keep) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        Manifest existing = reusable(storage, config, name);
        if (existing != null) {
            LOG.info("{}: already published by this config (manifest {}), kept", name, existing.id());
            return new JobResult("ingest", storage.qualify(config.out() + "/" + name), existing.id(),
                    (long) existing.number("rows"), 0);
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<byte[][]> images = jsc.broadcast(data.images);
        Broadcast<int[]> labels = jsc.broadcast(data.labels);
        Broadcast<boolean[]> mask = jsc.broadcast(heldOut);
        int slices = Math.max(1, data.labels.length / 10_000);
        List<Integer> chunks = new ArrayList<>();
        for (int i = 0; i < slices; i++) {
            chunks.add(i);
        }
        int total = data.labels.length;
        JavaRDD<Row> rows = jsc.parallelize(chunks, slices).flatMap(chunk -> {
            int from = (int) ((long) total * chunk / slices);
            int to = (int) ((long) total * (chunk + 1) / slices);
            List<Row> out = new ArrayList<>();
            for (int i = from; i < to; i++) {
                if (mask.value()[i] == keep) {
                    out.add(RowFactory.create((long) i, pixels(images.value()[i]), labels.value()[i]));
                }
            }
            return out.iterator();
        });
        String target = config.out() + "/" + name;
        try (StagedOutput out = StagedOutput.begin(storage, target)) {
            TransferTables.write(spark.createDataFrame(rows, TransferTables.SCHEMA), out.stagingDir());
            long count = TransferTables.countRows(spark, out.stagingDir());
            Manifest manifest = Manifest.sealed("ingest", config,
                    Map.of("source", new Manifest.Input(config.source(), null)),
                    Manifest.facts("split", name, "rows", count, TransferSchema.SCHEMA_VERSION, TransferSchema.VERSION,
                            TransferSchema.FEATURE_COUNT, data.images[0].length, TransferSchema.SHAPE,
                            imageShape(data.images[0].length), TransferSchema.PREPROCESSING, PREPROCESSING,
                            TransferSchema.CLASSES, CLASSES,
                            "sourceSha256", data.sha256),
                    Versions.current(), java.time.Instant.now().toString());
            JobResult result = out.publish(manifest, count, start);
            images.destroy();
            labels.destroy();
            mask.destroy();
            return result;
        }
    }

    /** [1, side, side] for square grey images such as Fashion-MNIST's, else [pixels]. */
    private static List<Integer> imageShape(int pixels) {
        int side = (int) Math.round(Math.sqrt(pixels));
        return side * side == pixels ? List.of(1, side, side) : List.of(pixels);
    }

    private static float[] pixels(byte[] image) {
        float[] f = new float[image.length];
        for (int i = 0; i < image.length; i++) {
            f[i] = (image[i] & 0xFF) / 255f;
        }
        return f;
    }
}
