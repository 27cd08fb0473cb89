package org.distillery.jobs.common;

import java.util.List;
import org.apache.spark.sql.Row;
import org.distillery.model.schema.TransferSchema;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A small labelled split (validation or test) held on the driver as one feature matrix, in id order. Only splits of
 * evaluation size are ever collected; training rows never are.
 */
public record LabelledSet(String path, String manifestId, long[] ids, INDArray features, int[] labels) {

    public static LabelledSet collect(TransferTables.Transfer t) {
        List<Row> rows = t.rows().filter(t.rows().col(TransferSchema.LABEL).isNotNull())
                .select(TransferSchema.ID, TransferSchema.FEATURES, TransferSchema.LABEL)
                .orderBy(TransferSchema.ID).collectAsList();
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("no labelled rows in " + t.path());
        }
        int d = t.featureCount();
        int classes = t.classes();
        float[] x = new float[rows.size() * d];
        long[] ids = new long[rows.size()];
        int[] y = new int[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            if (r.isNullAt(1)) {
                throw new IllegalArgumentException("features are null for id " + r.getLong(0) + " in " + t.path());
            }
            float[] f = TransferTables.floats(r, 1);
            if (f.length != d) {
                throw new IllegalArgumentException("feature length " + f.length + " != " + d + " for id " + r.getLong(0)
                        + " in " + t.path());
            }
            for (float v : f) {
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("non-finite feature value " + v + " for id " + r.getLong(0)
                            + " in " + t.path());
                }
            }
            System.arraycopy(f, 0, x, i * d, d);
            ids[i] = r.getLong(0);
            y[i] = r.getInt(2);
            if (y[i] < 0 || y[i] >= classes) {
                throw new IllegalArgumentException("label " + y[i] + " out of range [0, " + classes + ") for id "
                        + ids[i] + " in " + t.path() + " (null marks a row without a label)");
            }
        }
        return new LabelledSet(t.path(), t.manifest().id(), ids, Nd4j.create(x, new long[] {rows.size(), d}, DataType.FLOAT), y);
    }

    public int size() {
        return labels.length;
    }
}
