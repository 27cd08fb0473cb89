package org.distillery.jobs.augment;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.xxhash64;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.LabelledSelection;
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Widens a transfer set: every source row (kept, with its label, unless asked otherwise) and {@code copies}
 * transformed copies of it, unlabelled (the teacher labels them). A copy's id is Spark SQL's
 * {@code xxhash64(seed, source_id, copy)} (copy counted from 1), its {@code source_id} the row it was made from; an
 * id that collides with another row's is refused. Each copy draws from its own seeded stream; with mixup, rows are
 * grouped into buckets by {@code xxhash64(seed, id)} and sorted by id inside each bucket, so partners, and with them
 * every output value, are the same on every rerun whatever the source's partitioning.
 */
public final class AugmentJob {
    private static final Logger LOG = LoggerFactory.getLogger(AugmentJob.class);
    /** Column naming the row an augmented row was made from (its own id for a source row). */
    public static final String SOURCE_ID = "source_id";
    /** Source rows per mixup bucket (partners are drawn within a bucket). */
    static final long BUCKET_ROWS = 50_000;
    private final SparkSession spark;

    public AugmentJob(SparkSession spark) {
        this.spark = spark;
    }

    /** What a run reads, checked: the transfer set resolved once, the transforms, its row count. */
    record Checked(ResolvedInput transfer, Augmentation augmentation, long sourceRows) {
    }

    static Checked check(Storage storage, AugmentConfig c) {
        OutputRule.of(storage).input("--transfer", c.transfer()).check("--out", c.out());
        StagedOutput.check(storage, c.out(), c.mode());
        ResolvedInput resolved = TransferTables.resolveTransfer(storage, c.transfer());
        Manifest transfer = resolved.manifest();
        Augmentation a = Augmentation.parse(c.transforms(), TransferSchema.shape(transfer));
        long rows = c.sourceRows((long) transfer.number("rows"));
        if (c.outputRows(rows) > c.maxRows()) {
            throw new IllegalArgumentException("--copies " + c.copies() + " of " + rows + " rows would write "
                    + c.outputRows(rows) + " rows, more than --max-rows " + c.maxRows());
        }
        return new Checked(resolved, a, rows);
    }

    /**
     * The rows made from one source row: itself (when kept) and its copies, as (id, features, label, source_id, copy);
     * a copy's id is filled in afterwards from (seed, source_id, copy). {@code bucket} holds the mixup partners.
     */
    private static List<Row> rowsOf(Row r, Augmentation a, int copies, boolean keep, long seed, List<Row> bucket) {
        long id = r.getLong(0);
        float[] x = features(r, a.width());
        List<Row> out = new ArrayList<>(copies + 1);
        if (keep) {
            out.add(RowFactory.create(id, x, r.isNullAt(2) ? null : r.getInt(2), id, null));
        }
        for (int copy = 1; copy <= copies; copy++) {
            SplittableRandom rng = Augmentation.random(seed, id, copy);
            float[] partner = bucket == null ? null : features(bucket.get(rng.nextInt(bucket.size())), a.width());
            out.add(RowFactory.create(0L, a.apply(x, partner, rng), null, id, copy));
        }
        return out;
    }

    /**
     * A row's features, refused unless they have the transfer set's width: every transform, mixup's blend of two rows
     * most of all, needs features of one width.
     */
    private static float[] features(Row r, int width) {
        if (r.isNullAt(1)) {
            throw new IllegalArgumentException("features are null for id " + r.getLong(0));
        }
        float[] x = TransferTables.floats(r, 1);
        if (x.length != width) {
            throw new IllegalArgumentException("features of id " + r.getLong(0) + " have " + x.length + " values, the"
                    + " transfer set's are " + width + " wide: augment needs features of one width");
        }
        return x;
    }

    /** Checks everything a run would, without Spark, and says what the run would do. */
    public static DryRun dryRun(Storage storage, AugmentConfig c) {
        Checked k = check(storage, c);
        return new DryRun("augment")
                .with("transfer", k.transfer().path() + " (manifest " + k.transfer().manifest().id() + ", "
                        + k.sourceRows() + " rows" + (c.labelled() == null ? ")" : " at most: the --labelled "
                        + c.labelled() + " of --seed " + c.seed() + ")"))
                .with("transforms", k.augmentation() + ", " + c.copies() + " copies per row, seed " + c.seed()
                        + (c.keepOriginals() ? ", source rows kept" : ", source rows left out"))
                .with("out", storage.qualify(c.out()) + " (" + c.outputRows(k.sourceRows()) + " rows; "
                        + StagedOutput.describe(storage, c.out(), c.mode()) + ")");
    }

    public JobResult run(AugmentConfig c) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        Checked k = check(storage, c);
        TransferTables.Transfer transfer = TransferTables.readTransfer(spark, k.transfer());
        Dataset<Row> source = transfer.rows().select(col(TransferSchema.ID), col(TransferSchema.FEATURES),
                col(TransferSchema.LABEL));
        long sourceRows = k.sourceRows();
        if (c.labelled() != null) { // the rows train --labelled N --seed S keeps labelled, and only those
            java.util.Set<Long> ids = LabelledSelection.select(spark, source, c.labelled(), c.seed(),
                    transfer.classes());
            source = source.filter(col(TransferSchema.ID).isin(ids.toArray()));
            sourceRows = ids.size();
            LOG.info("widening the {} labelled rows --labelled {} --seed {} selects", sourceRows, c.labelled(),
                    c.seed());
        }
        StructType schema = TransferTables.SCHEMA.add(SOURCE_ID, DataTypes.LongType, false)
                .add("copy", DataTypes.IntegerType, true);
        Augmentation a = k.augmentation();
        int copies = c.copies();
        boolean keep = c.keepOriginals();
        long seed = c.seed();
        Dataset<Row> made;
        if (a.mixes()) { // partners come from a bucket that is the same whatever the source's partitioning
            int buckets = (int) Math.max(1, (sourceRows + BUCKET_ROWS - 1) / BUCKET_ROWS);
            made = source.repartition(buckets, pmod(xxhash64(lit(seed), col(TransferSchema.ID)), lit(buckets)))
                    .sortWithinPartitions(TransferSchema.ID)
                    .mapPartitions((MapPartitionsFunction<Row, Row>) it -> {
                        List<Row> bucket = new ArrayList<>();
                        it.forEachRemaining(bucket::add);
                        List<Row> out = new ArrayList<>(bucket.size() * (copies + 1));
                        bucket.forEach(r -> out.addAll(rowsOf(r, a, copies, keep, seed, bucket)));
                        return out.iterator();
                    }, Encoders.row(schema));
        } else { // each copy depends on its source row alone: no shuffle, rows streamed
            made = source.flatMap((FlatMapFunction<Row, Row>) r -> rowsOf(r, a, copies, keep, seed, null).iterator(),
                    Encoders.row(schema));
        }
        Dataset<Row> rows = made.withColumn(TransferSchema.ID, when(col("copy").isNull(), col(TransferSchema.ID))
                .otherwise(xxhash64(lit(seed), col(SOURCE_ID), col("copy")))).drop("copy");
        try (StagedOutput out = StagedOutput.begin(storage, c.out(), c.mode())) {
            TransferTables.write(rows, out.stagingDir());
            Dataset<Row> written = TransferTables.readStaged(spark, out.stagingDir());
            Row counts = written.agg(org.apache.spark.sql.functions.count(lit(1)),
                    org.apache.spark.sql.functions.countDistinct(col(TransferSchema.ID))).first();
            long count = counts.getLong(0);
            if (counts.getLong(1) != count) {
                throw new IllegalStateException("augmented ids collide (" + (count - counts.getLong(1)) + " of "
                        + count + "): rerun with another --seed");
            }
            Map<String, Object> augmentation = new LinkedHashMap<>();
            augmentation.put("transforms", a.toString());
            augmentation.put("copies", copies);
            augmentation.put("seed", seed);
            augmentation.put("keepOriginals", keep);
            augmentation.put("ids", "source rows keep their id; copy n of row r: xxhash64(seed, r, n), n from 1;"
                    + " " + SOURCE_ID + " = r");
            augmentation.put("labels", "source rows keep their label; copies are unlabelled");
            if (c.labelled() != null) {
                augmentation.put("labelled", c.labelled() + " rows, stratified by class and ranked by a seeded hash of"
                        + " the id with --seed, as train --labelled selects them; the other rows left out");
            }
            augmentation.put("sourceRows", sourceRows);
            Map<String, Object> facts = TransferTables.withMeaning(transfer.manifest(), Manifest.facts("rows", count,
                    TransferSchema.SCHEMA_VERSION, TransferSchema.VERSION,
                    TransferSchema.FEATURE_COUNT, transfer.featureCount(), TransferSchema.CLASSES, transfer.classes(),
                    "augmentation", augmentation));
            Manifest manifest = Manifest.sealed("augment", c,
                    Map.of("transfer", k.transfer().asInput()), facts,
                    Versions.current(), java.time.Instant.now().toString());
            JobResult result = out.publish(manifest, count, start);
            LOG.info("augmented {} rows into {} ({}) in {} s", sourceRows, count, a,
                    String.format("%.1f", result.seconds()));
            return result;
        }
    }
}
