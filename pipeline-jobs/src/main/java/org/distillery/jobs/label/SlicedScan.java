package org.distillery.jobs.label;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.spark.Dependency;
import org.apache.spark.NarrowDependency;
import org.apache.spark.Partition;
import org.apache.spark.TaskContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.execution.datasources.FilePartition;
import org.apache.spark.sql.execution.datasources.PartitionedFile;
import org.apache.spark.sql.execution.datasources.parquet.ParquetFooterReader;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag$;

/**
 * The label job's partitions of transfer rows: equal in rows and a multiple of the task slots, cut anywhere in a file.
 * Spark plans Parquet partitions by bytes and cannot split a row group: three one-row-group files on two slots make
 * two waves with one core idle in the second, and a byte split smaller than a row group may be an empty task. Here
 * the scan is planned with one whole file per parent partition, the files' row counts come from their
 * footers, and each partition of this RDD takes a row range of the concatenated files: the rows of a file before a
 * cut are decoded and skipped by the partition that starts there, which {@link #plan} keeps small by cutting at file
 * boundaries where it can.
 */
final class SlicedScan extends RDD<SlicedScan.Slice> {
    /** Rows a partition aims for at most (larger sets get more partitions per slot). */
    static final long MAX_ROWS = 262_144;
    /** Rows a partition has at least, where the set is large enough: fewer, larger tasks below that. */
    static final long MIN_ROWS = 16_384;
    /** Partitions per slot aimed for: a slow task then leaves the others at most a quarter of its work. */
    static final int PER_SLOT = 4;
    /** Rows skipped at cuts that do not count against a plan, as a share of all rows. */
    static final double NEGLIGIBLE = 0.05;
    /**
     * A plan whose cuts would decode and skip more rows than this share of all rows is not taken (Spark's partitions
     * are). A row costs the teacher several times what decoding it costs, so even a single file cut in two (half its
     * rows decoded twice) runs faster on two slots than whole on one.
     */
    static final double MAX_SKIPPED = 1.0;
    /** Footers read at once when planning (as Spark's own parallel footer reads). */
    static final int FOOTER_THREADS = 8;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SlicedScan.class);

    /** Rows [from, to) of a column batch: what a partition takes of it. */
    record Slice(ColumnarBatch batch, int from, int to) {
    }

    /** Rows [from, to) of parent partition (file) {@code parent}. */
    record Piece(int parent, long from, long to) implements Serializable {
    }

    /** The partitions, the rows decoded only to be skipped, and what the log says about them. */
    record Plan(List<List<Piece>> partitions, long skipped, long rows) {
        String describe(int files, int slots) {
            return partitions.size() + " partitions of ~" + (rows / Math.max(1, partitions.size())) + " rows over "
                    + files + " files (" + slots + " task slots; " + skipped + " rows decoded and skipped at cuts"
                    + " inside files)";
        }
    }

    private final Piece[][] pieces;
    /** The parent files' footers, as the plan read them (on the driver only). */
    private final transient ParquetMetadata[] footers;

    private SlicedScan(RDD<ColumnarBatch> files, Plan plan, ParquetMetadata[] footers) {
        super(files.context(), JavaConverters.asScalaBuffer(
                List.<Dependency<?>>of(new Parents(files, parentsOf(plan)))).toSeq(),
                ClassTag$.MODULE$.apply(Slice.class));
        this.pieces = plan.partitions().stream().map(p -> p.toArray(Piece[]::new)).toArray(Piece[][]::new);
        this.footers = footers;
    }

    private static int[][] parentsOf(Plan plan) {
        return plan.partitions().stream().map(p -> p.stream().mapToInt(Piece::parent).toArray()).toArray(int[][]::new);
    }

    /**
     * The sliced partitions over {@code files}, a scan planned with one whole file per partition, or null with
     * {@code why[0]} set when its partitions are not whole single files or the cuts would decode too much twice.
     */
    static SlicedScan over(RDD<ColumnarBatch> files, Configuration conf, int slots, String[] why) {
        Partition[] parts = files.partitions();
        PartitionedFile[] whole = new PartitionedFile[parts.length];
        for (int i = 0; i < parts.length; i++) {
            if (!(parts[i] instanceof FilePartition fp) || fp.files().length != 1 || fp.files()[0].start() != 0
                    || fp.files()[0].length() != fp.files()[0].fileSize()) {
                why[0] = "the scan's partition " + i + " is not one whole file";
                return null;
            }
            whole[i] = fp.files()[0];
        }
        ParquetMetadata[] footers = footers(whole, conf, FOOTER_THREADS, why);
        if (footers == null) {
            return null;
        }
        long[] rows = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            rows[i] = footers[i].getBlocks().stream().mapToLong(b -> b.getRowCount()).sum();
        }
        Plan plan = plan(rows, slots);
        if (plan == null) {
            why[0] = "no rows";
            return null;
        }
        if (plan.skipped() > MAX_SKIPPED * plan.rows()) {
            why[0] = "cuts inside files would decode " + plan.skipped() + " of " + plan.rows() + " rows twice";
            return null;
        }
        why[0] = plan.describe(parts.length, slots);
        return new SlicedScan(files, plan, footers);
    }

    /**
     * The footers of {@code files}, in their order, read by up to {@code atOnce} threads at once (each read is
     * a round trip or two to the file system, which on an object store or a busy name node takes far longer than
     * decoding), with the sizes the scan listed (no status call per file). Null with {@code why[0]} set, naming the
     * first file in order that cannot be read: Spark's reader then says what is wrong with it.
     */
    static ParquetMetadata[] footers(PartitionedFile[] files, Configuration conf, int atOnce, String[] why) {
        long t0 = System.nanoTime();
        int threads = Math.max(1, Math.min(atOnce, files.length));
        java.util.concurrent.ExecutorService pool =
                org.apache.spark.util.ThreadUtils.newDaemonFixedThreadPool(threads, "distillery-footers");
        try {
            List<java.util.concurrent.Future<ParquetMetadata>> reads = new ArrayList<>(files.length);
            for (PartitionedFile f : files) {
                reads.add(pool.submit(() -> ParquetFooterReader.readFooter(conf, f,
                        ParquetFooterReader.WITH_ROW_GROUPS)));
            }
            ParquetMetadata[] footers = new ParquetMetadata[files.length];
            for (int i = 0; i < files.length; i++) {
                try {
                    footers[i] = reads.get(i).get();
                } catch (java.util.concurrent.ExecutionException e) {
                    why[0] = "cannot read the footer of " + files[i].toPath() + ": " + e.getCause().getMessage();
                    return null;
                }
            }
            LOG.info("read the footers of {} files in {} s ({} threads)", files.length,
                    String.format("%.2f", (System.nanoTime() - t0) / 1e9), threads);
            return footers;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading the transfer set's footers", e);
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Partitions of the files' rows (in their order): {@code slots} x m of them, equal in rows. The aim m0 is the
     * smallest m that gives partitions of at most {@link #MAX_ROWS} rows and at most {@link #PER_SLOT} per slot of at
     * least {@link #MIN_ROWS}; of m = 1 .. 2 m0, the one nearest m0 whose cuts inside files skip at most
     * {@link #NEGLIGIBLE} of the rows, else the one that skips fewest (a cut within 1% of a partition's rows of a file
     * boundary moves to it). Null for no rows.
     */
    static Plan plan(long[] rows, int slots) {
        long[] starts = new long[rows.length + 1];
        for (int i = 0; i < rows.length; i++) {
            starts[i + 1] = starts[i] + rows[i];
        }
        long total = starts[rows.length];
        if (total == 0) {
            return null;
        }
        long m0 = Math.max(1, Math.max(Math.min(PER_SLOT, total / ((long) slots * MIN_ROWS)),
                ceilDiv(total, (long) slots * MAX_ROWS)));
        long[] best = null;
        long bestSkipped = Long.MAX_VALUE;
        long bestDistance = Long.MAX_VALUE;
        for (long m = 1; m <= 2 * m0; m++) {
            int count = (int) Math.min(slots * m, total);
            long[] cuts = cuts(starts, total, count);
            long skipped = 0;
            for (int j = 1; j < cuts.length - 1; j++) {
                skipped += cuts[j] - starts[fileOf(starts, cuts[j])];
            }
            // few rows skipped (at most NEGLIGIBLE of them): the count nearest the aim; else the fewest skipped
            boolean fine = skipped <= NEGLIGIBLE * total;
            boolean bestFine = bestSkipped <= NEGLIGIBLE * total;
            long distance = Math.abs(m - m0);
            if (best == null || (fine && (!bestFine || distance < bestDistance))
                    || (!fine && !bestFine && skipped < bestSkipped)) {
                best = cuts;
                bestSkipped = skipped;
                bestDistance = distance;
            }
            if (count == total) {
                break;
            }
        }
        List<List<Piece>> partitions = new ArrayList<>();
        for (int j = 0; j + 1 < best.length; j++) {
            long a = best[j];
            long b = best[j + 1];
            if (a == b) {
                continue;
            }
            List<Piece> p = new ArrayList<>();
            for (int i = fileOf(starts, a); i < rows.length && starts[i] < b; i++) {
                if (rows[i] > 0) {
                    p.add(new Piece(i, Math.max(a, starts[i]) - starts[i], Math.min(b, starts[i + 1]) - starts[i]));
                }
            }
            partitions.add(Collections.unmodifiableList(p));
        }
        return new Plan(Collections.unmodifiableList(partitions), bestSkipped, total);
    }

    /** count + 1 cut points from 0 to total, each within 1% of a partition's rows of a file start moved to it. */
    private static long[] cuts(long[] starts, long total, int count) {
        long[] cuts = new long[count + 1];
        long tolerance = total / count / 100;
        for (int j = 1; j < count; j++) {
            long c = Math.round((double) total * j / count);
            int i = Arrays.binarySearch(starts, c);
            if (i < 0) {
                int after = -i - 1; // first start > c
                long nearest = after < starts.length && starts[after] - c <= c - starts[after - 1]
                        ? starts[after] : starts[after - 1];
                if (Math.abs(nearest - c) <= tolerance) {
                    c = nearest;
                }
            }
            cuts[j] = Math.max(c, cuts[j - 1]);
        }
        cuts[count] = total;
        return cuts;
    }

    /** The file whose rows [starts[i], starts[i+1]) hold row {@code r} (the last such file for empty ones). */
    private static int fileOf(long[] starts, long r) {
        int i = Arrays.binarySearch(starts, r);
        if (i >= 0) {
            while (i + 1 < starts.length && starts[i + 1] == r) {
                i++;
            }
            return Math.min(i, starts.length - 2);
        }
        return -i - 2;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /** The parent partitions: one whole file each. */
    Partition[] files() {
        return dependencies().head().rdd().partitions();
    }

    /** The footer of each parent partition's file, in their order (on the driver, where the plan read them). */
    ParquetMetadata[] footers() {
        return footers;
    }

    /** Each partition's row ranges of the parent partitions. */
    Piece[][] pieces() {
        return pieces;
    }

    @Override
    public Partition[] getPartitions() {
        Partition[] files = dependencies().head().rdd().partitions(); // on the driver: executors get them in Part
        Partition[] out = new Partition[pieces.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = new Part(i, pieces[i], Arrays.stream(pieces[i]).map(p -> files[p.parent()])
                    .toArray(Partition[]::new));
        }
        return out;
    }

    @Override
    public scala.collection.Seq<String> getPreferredLocations(Partition split) {
        Part part = (Part) split;
        return part.files.length == 0 ? JavaConverters.asScalaBuffer(List.<String>of()).toSeq()
                : dependencies().head().rdd().preferredLocations(part.files[0]);
    }

    @Override
    @SuppressWarnings("unchecked")
    public scala.collection.Iterator<Slice> compute(Partition split, TaskContext context) {
        RDD<ColumnarBatch> files = (RDD<ColumnarBatch>) dependencies().head().rdd();
        Part part = (Part) split;
        java.util.Iterator<Integer> todo = java.util.stream.IntStream.range(0, part.pieces.length).iterator();
        return JavaConverters.asScalaIterator(new java.util.Iterator<Slice>() {
            private scala.collection.Iterator<ColumnarBatch> batches;
            private Piece piece;
            private long position; // rows of the piece's file before the next batch
            private Slice next;

            @Override
            public boolean hasNext() {
                while (next == null) {
                    if (piece == null || position >= piece.to() || !batches.hasNext()) {
                        if (!todo.hasNext()) {
                            return false;
                        }
                        int i = todo.next();
                        piece = part.pieces[i];
                        batches = files.iterator(part.files[i], context);
                        position = 0;
                        continue;
                    }
                    ColumnarBatch b = batches.next();
                    long first = position;
                    position += b.numRows();
                    long from = Math.max(first, piece.from());
                    long to = Math.min(position, piece.to());
                    if (from < to) {
                        next = new Slice(b, (int) (from - first), (int) (to - first));
                    }
                }
                return true;
            }

            @Override
            public Slice next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                Slice s = next;
                next = null;
                return s;
            }
        });
    }

    /** The parent partitions (files) each partition reads. */
    private static final class Parents extends NarrowDependency<ColumnarBatch> {
        private final int[][] parents;

        Parents(RDD<ColumnarBatch> files, int[][] parents) {
            super(files);
            this.parents = parents;
        }

        @Override
        public scala.collection.Seq<Object> getParents(int partitionId) {
            List<Object> out = new ArrayList<>();
            for (int p : parents[partitionId]) {
                out.add(p);
            }
            return JavaConverters.asScalaBuffer(out).toSeq();
        }
    }

    /** A partition of this RDD: its pieces and the file partitions they read. */
    private static final class Part implements Partition {
        private final int index;
        private final Piece[] pieces;
        private final Partition[] files;

        Part(int index, Piece[] pieces, Partition[] files) {
            this.index = index;
            this.pieces = pieces;
            this.files = files;
        }

        @Override
        public int index() {
            return index;
        }

        // Scala's trait (a synthetic method javac does not see): its equals is Object's
        public boolean org$apache$spark$Partition$$super$equals(Object other) {
            return super.equals(other);
        }
    }
}
