package org.distillery.jobs.label;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.SoftTargetCodec;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Runs the frozen teacher over one partition of transfer rows (id, features, label, input hash) in batches and emits
 * soft-target rows (id, label, then the stored values of the run's layout, see {@link SoftTargetCodec#encode}, then
 * the input hash). Rows are validated in the same pass: feature width and finiteness in, finite logits out.
 */
final class TeacherInference implements FlatMapFunction<Iterator<Row>, Row> {
    private static final long serialVersionUID = 1L;
    private final TeacherEnsemble teachers;
    private final int featureCount;
    private final double temperature;
    private final int batchSize;
    private final SoftTargetCodec codec;

    TeacherInference(TeacherEnsemble teachers, int featureCount, double temperature, int batchSize,
                     SoftTargetCodec codec) {
        this.teachers = teachers;
        this.featureCount = featureCount;
        this.temperature = temperature;
        this.batchSize = batchSize;
        this.codec = codec;
    }

    /** Test seam: decides whether the current task attempt fails on purpose (local mode only; null in production). */
    static volatile java.util.function.Predicate<org.apache.spark.TaskContext> faultInjector;

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        java.util.function.Predicate<org.apache.spark.TaskContext> faults = faultInjector;
        if (faults != null && faults.test(org.apache.spark.TaskContext.get())) {
            throw new java.io.UncheckedIOException(new java.io.IOException("injected fault in partition "
                    + org.apache.spark.TaskContext.getPartitionId()));
        }
        return new Iterator<>() {
            private Iterator<Row> batch = List.<Row>of().iterator();

            @Override
            public boolean hasNext() {
                while (!batch.hasNext() && rows.hasNext()) {
                    batch = label(take(rows)).iterator();
                }
                return batch.hasNext();
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                return batch.next();
            }
        };
    }

    private List<Row> take(Iterator<Row> rows) {
        List<Row> batch = new ArrayList<>(batchSize);
        while (rows.hasNext() && batch.size() < batchSize) {
            batch.add(rows.next());
        }
        return batch;
    }

    private List<Row> label(List<Row> batch) {
        int n = batch.size();
        float[] x = new float[n * featureCount];
        for (int i = 0; i < n; i++) {
            float[] f = checkedFeatures(batch.get(i));
            System.arraycopy(f, 0, x, i * featureCount, featureCount);
        }
        float[][] z = teachers.logits(Nd4j.create(x, new long[] {n, featureCount}, DataType.FLOAT));
        List<Row> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Row in = batch.get(i);
            for (float v : z[i]) {
                if (!Float.isFinite(v)) {
                    throw new IllegalStateException("teacher produced a non-finite logit (" + v + ") for id " + in.getLong(0));
                }
            }
            if (!in.isNullAt(2) && (in.getInt(2) < 0 || in.getInt(2) >= z[i].length)) {
                throw new IllegalArgumentException("label " + in.getInt(2) + " out of range [0, " + z[i].length
                        + ") of the teacher's classes for id " + in.getLong(0));
            }
            Object[] stored = codec.encode(z[i], temperature);
            Object[] row = new Object[3 + stored.length];
            row[0] = in.getLong(0);
            row[1] = in.isNullAt(2) ? null : in.getInt(2);
            System.arraycopy(stored, 0, row, 2, stored.length);
            row[row.length - 1] = in.getLong(3);
            out.add(RowFactory.create(row));
        }
        return out;
    }

    private float[] checkedFeatures(Row row) {
        if (row.isNullAt(1)) {
            throw new IllegalArgumentException("features are null for id " + row.getLong(0));
        }
        float[] f = TransferTables.floats(row, 1);
        if (f.length != featureCount) {
            throw new IllegalArgumentException("feature length " + f.length + " != " + featureCount + " for id "
                    + row.getLong(0));
        }
        for (float v : f) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("non-finite feature value " + v + " for id " + row.getLong(0));
            }
        }
        return f;
    }
}
