package org.distillery.jobs.label;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.bytedeco.javacpp.FloatPointer;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.SoftTargetCodec;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Runs the frozen teacher over one partition of transfer rows (id, features, label, input hash) in batches and emits
 * soft-target rows (id, label, then the stored values of the run's layout, see {@link SoftTargetCodec#encode}, then
 * the hint layer's activations when the layout has them, then the input hash). Rows are validated in the same pass:
 * feature width and finiteness in, finite logits out. A run that writes every row it labels takes them as Spark's
 * internal rows ({@link #internal}), each array in one bulk copy, rather than as {@code Row}s that Spark converts
 * value by value, boxing every float, before writing them.
 */
final class TeacherInference implements FlatMapFunction<Iterator<InternalRow>, Row> {
    private static final long serialVersionUID = 1L;
    private final TeacherEnsemble teachers;
    private final int featureCount;
    private final double temperature;
    private final int batchSize;
    private final SoftTargetCodec codec;
    private final int hintLayer;
    private final LabelReports.Tally tally;

    /** {@code hintLayer}: the teacher layer whose activations each row also gets (the hint column), -1 for none. */
    TeacherInference(TeacherEnsemble teachers, int featureCount, double temperature, int batchSize,
                     SoftTargetCodec codec, int hintLayer) {
        this(teachers, featureCount, temperature, batchSize, codec, hintLayer, null);
    }

    private TeacherInference(TeacherEnsemble teachers, int featureCount, double temperature, int batchSize,
                             SoftTargetCodec codec, int hintLayer, LabelReports.Tally tally) {
        this.tally = tally;
        this.hintLayer = hintLayer;
        this.teachers = teachers;
        this.featureCount = featureCount;
        this.temperature = temperature;
        this.batchSize = batchSize;
        this.codec = codec;
    }

    /**
     * This inference, also adding each row it emits to {@code tally} (its logits as stored and decoded, and its label):
     * for runs that write every row it emits, and nothing else, as the soft-target output.
     */
    TeacherInference tallied(LabelReports.Tally tally) {
        return new TeacherInference(teachers, featureCount, temperature, batchSize, codec, hintLayer, tally);
    }

    /** Test seam: decides whether the current task attempt fails on purpose (local mode only; null in production). */
    static volatile java.util.function.Predicate<org.apache.spark.TaskContext> faultInjector;

    /**
     * Soft-target rows of {@code input} (id, features, label, input hash, in that order). Rows are read from Spark's
     * internal rows, so a feature vector is copied straight out of the Parquet batch instead of being boxed float by
     * float into a {@code Row}.
     */
    org.apache.spark.api.java.JavaRDD<Row> over(org.apache.spark.sql.Dataset<Row> input) {
        return input.queryExecution().toRdd().toJavaRDD().mapPartitions(this);
    }

    /** As {@link #over(org.apache.spark.sql.Dataset)}, as Spark's internal rows of the soft-target schema. */
    org.apache.spark.api.java.JavaRDD<InternalRow> internalOver(org.apache.spark.sql.Dataset<Row> input) {
        return input.queryExecution().toRdd().toJavaRDD()
                .mapPartitions(rows -> run(new RowSource(rows), TeacherInference::internal));
    }

    /**
     * Soft-target rows of the transfer rows in {@code batches} as Spark's internal rows, read from the files' pages or
     * the scan's column batches with the input hash computed here ({@link FeatureBatches}); the same rows as {@link
     * #internalOver(org.apache.spark.sql.Dataset)} on the same transfer set.
     */
    org.apache.spark.api.java.JavaRDD<InternalRow> internalOver(FeatureBatches batches) {
        return batches.map(featureCount, rows -> run(new BatchSource(rows), TeacherInference::internal));
    }

    /**
     * A soft-target row's values (as {@link SoftTargetCodec#encode} and the hint layer give them: float[] and int[]
     * arrays, byte[] binaries, boxed scalars) as Spark's internal row; each primitive array becomes an unsafe array in
     * one bulk copy, which Spark's writer reads as it is.
     */
    static InternalRow internal(Object[] values) {
        Object[] v = new Object[values.length];
        for (int i = 0; i < v.length; i++) {
            Object o = values[i];
            if (o instanceof float[] f) {
                v[i] = UnsafeArrayData.fromPrimitiveArray(f);
            } else if (o instanceof int[] n) {
                v[i] = UnsafeArrayData.fromPrimitiveArray(n);
            } else {
                v[i] = o;
            }
        }
        return new GenericInternalRow(v);
    }

    /** One transfer row's id, label and input hash, copied out of Spark's reused internal row (features: Scratch). */
    private record In(long id, Integer label, long hash) {
    }

    /** Where a partition's transfer rows come from: each row's features go into the batch buffer as it is taken. */
    private interface Source {
        boolean hasNext();

        /** The next row: its features into {@code into} from {@code offset}, checked; its id, label and hash. */
        In take(float[] into, int offset);
    }

    /** Rows of (id, features, label, input hash) as Spark's projection gives them. */
    private final class RowSource implements Source {
        private final Iterator<InternalRow> rows;

        RowSource(Iterator<InternalRow> rows) {
            this.rows = rows;
        }

        @Override
        public boolean hasNext() {
            return rows.hasNext();
        }

        @Override
        public In take(float[] into, int offset) {
            InternalRow r = rows.next();
            long id = r.getLong(0);
            copyCheckedFeatures(r, id, into, offset);
            return new In(id, r.isNullAt(2) ? null : r.getInt(2), r.getLong(3));
        }
    }

    /** Rows of the files' pages or the scan's column batches, hashed as they are read ({@link FeatureBatches}). */
    private record BatchSource(FeatureBatches.Rows cursor) implements Source {
        @Override
        public boolean hasNext() {
            return cursor.hasNext();
        }

        @Override
        public In take(float[] into, int offset) {
            long id = cursor.id();
            Integer label = cursor.label();
            return new In(id, label, cursor.copyAndHash(id, label, into, offset));
        }
    }

    @Override
    public Iterator<Row> call(Iterator<InternalRow> rows) {
        return run(new RowSource(rows), RowFactory::create);
    }

    /** The partition's soft-target rows, each made by {@code make} from the row's values. */
    private <T> Iterator<T> run(Source rows, java.util.function.Function<Object[], T> make) {
        java.util.function.Predicate<org.apache.spark.TaskContext> faults = faultInjector;
        Scratch scratch = new Scratch(batchSize, featureCount);
        return new Iterator<>() {
            private Iterator<Object[]> batch = java.util.Collections.emptyIterator();
            private boolean labelledOne;

            @Override
            public boolean hasNext() {
                while (!batch.hasNext() && rows.hasNext()) {
                    batch = label(take(rows, scratch), scratch).iterator();
                    if (!labelledOne && faults != null && faults.test(org.apache.spark.TaskContext.get())) {
                        // after a batch: the failed attempt has labelled (and tallied) rows it will not write
                        throw new java.io.UncheckedIOException(new java.io.IOException("injected fault in partition "
                                + org.apache.spark.TaskContext.getPartitionId()));
                    }
                    labelledOne = true;
                }
                return batch.hasNext();
            }

            @Override
            public T next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                return make.apply(batch.next());
            }
        };
    }

    /**
     * One partition's batch buffers, reused from batch to batch: the features as a Java array, then copied in one bulk
     * copy into a native array. Creating a fresh native array from a float[] per batch (Nd4j.create) copied it float
     * by float into freshly mapped memory: 14 ms for a 1024 x 784 batch against 0.4 ms here, a third of the label
     * job's time.
     */
    private static final class Scratch {
        final float[] x;
        final INDArray input;

        Scratch(int rows, int width) {
            x = new float[rows * width];
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                input = Nd4j.createUninitialized(DataType.FLOAT, new long[] {rows, width}, 'c');
            }
        }

        /** The first {@code n} rows of {@link #x} as a native [n, width] array (a view of the reused buffer). */
        INDArray features(int n) {
            int width = (int) input.size(1);
            new FloatPointer(input.data().addressPointer()).put(x, 0, n * width);
            return n == input.size(0) ? input : input.get(NDArrayIndex.interval(0, n), NDArrayIndex.all());
        }
    }

    private List<In> take(Source rows, Scratch scratch) {
        List<In> batch = new ArrayList<>(batchSize);
        while (rows.hasNext() && batch.size() < batchSize) {
            batch.add(rows.take(scratch.x, batch.size() * featureCount));
        }
        return batch;
    }

    private List<Object[]> label(List<In> batch, Scratch scratch) {
        int n = batch.size();
        INDArray features = scratch.features(n);
        float[][][] both = hintLayer < 0 ? null : teachers.logitsAndLayer(features, hintLayer);
        float[][] z = both == null ? teachers.logits(features) : both[0];
        float[][] hints = both == null ? null : both[1];
        List<Object[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            In in = batch.get(i);
            for (float v : z[i]) {
                if (!Float.isFinite(v)) {
                    throw new IllegalStateException("teacher produced a non-finite logit (" + v + ") for id " + in.id());
                }
            }
            if (in.label() != null && (in.label() < 0 || in.label() >= z[i].length)) {
                throw new IllegalArgumentException("label " + in.label() + " out of range [0, " + z[i].length
                        + ") of the teacher's classes for id " + in.id());
            }
            Object[] stored = codec.encode(z[i], temperature);
            Object[] row = new Object[3 + stored.length + (hints == null ? 0 : 1)];
            row[0] = in.id();
            row[1] = in.label();
            System.arraycopy(stored, 0, row, 2, stored.length);
            if (tally != null) {
                float[] decoded = codec.decode(java.util.Arrays.copyOf(stored, codec.layout().logitColumns().size()));
                // the stored soft column is softmax(decoded / T) when the logits are stored as they came
                float[] soft = decoded == z[i] && codec.layout().soft() ? (float[]) stored[stored.length - 1] : null;
                tally.add(decoded, soft, temperature, in.label());
            }
            if (hints != null) {
                for (float v : hints[i]) {
                    if (!Float.isFinite(v)) {
                        throw new IllegalStateException("teacher layer " + hintLayer + " produced a non-finite"
                                + " activation (" + v + ") for id " + in.id());
                    }
                }
                row[2 + stored.length] = hints[i];
            }
            row[row.length - 1] = in.hash();
            out.add(row);
        }
        return out;
    }

    /** Row {@code row}'s features, validated, into {@code into} from {@code offset} (no per-row array). */
    private void copyCheckedFeatures(InternalRow row, long id, float[] into, int offset) {
        if (row.isNullAt(1)) {
            throw new IllegalArgumentException("features are null for id " + id);
        }
        org.apache.spark.sql.catalyst.util.ArrayData a = row.getArray(1);
        if (a.numElements() != featureCount) {
            throw new IllegalArgumentException("feature length " + a.numElements() + " != " + featureCount + " for id "
                    + id);
        }
        for (int j = 0; j < featureCount; j++) {
            float v = a.getFloat(j);
            if (!Float.isFinite(v) || a.isNullAt(j)) {
                throw new IllegalArgumentException("non-finite feature value " + (a.isNullAt(j) ? Float.NaN : v)
                        + " for id " + id);
            }
            into[offset + j] = v;
        }
    }
}
