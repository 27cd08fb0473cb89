package org.distillery.jobs.train;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.distillery.model.data.Batches;
import org.distillery.model.loss.SoftTargets;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Rows (id, features, teacher logits, label[, teacher layer]) of one partition to minibatches in distillery's target
 * layout. The objective decides the targets: kd keeps softmax(logits / T) and the hard label where there is one;
 * pseudo_label replaces a missing label by the teacher's argmax; hard uses the label alone, and so does mutual, which
 * also keeps the rows without one (their targets are the peers'). Each row is checked as it
 * is read, and a bad one is refused naming its id: features of another width or not finite, a label outside
 * [0, classes) (null is unlabelled, as everywhere).
 */
final class ToMinibatches implements FlatMapFunction<Iterator<ToMinibatches.TrainingRow>, DataSet> {
    private static final long serialVersionUID = 1L;
    private final Objective objective;
    private final int classes;
    private final int featureCount;
    private final double temperature;
    private final int batchSize;
    private final int maxBatches;

    ToMinibatches(Objective objective, int classes, int featureCount, double temperature, int batchSize,
                  int maxBatches) {
        this.objective = objective;
        this.classes = classes;
        this.featureCount = featureCount;
        this.temperature = temperature;
        this.batchSize = batchSize;
        this.maxBatches = maxBatches;
    }

    /**
     * One training row as it crosses the shuffle into averaging blocks: primitive arrays, read straight from Spark's
     * internal rows. Spark's external {@code Row} would box every feature as a {@code Float} and Java-serialize the
     * boxes (most of a trial's first epoch, ~10 s on the demo's 55,000 rows, in a JFR profile).
     *
     * @param label  the hard label, or null for an unlabelled row
     * @param logits the teacher's logits, or null
     * @param layer  the stored teacher layer, or null when not joined
     */
    record TrainingRow(long id, float[] features, float[] logits, Integer label, float[] layer)
            implements java.io.Serializable {
        /**
         * Copies row (id, features, teacher logits, label[, teacher layer]) out of {@code row}, which Spark reuses;
         * a null feature element becomes NaN, refused as not finite with the row's id.
         */
        static TrainingRow of(InternalRow row) {
            return new TrainingRow(row.getLong(0), row.isNullAt(1) ? null : floats(row.getArray(1)),
                    row.isNullAt(2) ? null : floats(row.getArray(2)), row.isNullAt(3) ? null : row.getInt(3),
                    row.numFields() > 4 && !row.isNullAt(4) ? floats(row.getArray(4)) : null);
        }

        private static float[] floats(ArrayData a) {
            float[] f = a.toFloatArray();
            for (int i = 0; i < f.length; i++) {
                if (a.isNullAt(i)) {
                    f[i] = Float.NaN;
                }
            }
            return f;
        }
    }

    @Override
    public Iterator<DataSet> call(Iterator<TrainingRow> rows) {
        List<DataSet> out = new ArrayList<>();
        List<Batches.Example> batch = new ArrayList<>(batchSize);
        while (rows.hasNext()) {
            batch.add(example(rows.next()));
            if (batch.size() == batchSize) {
                out.add(Batches.toDataSet(batch, classes, temperature));
                batch.clear();
            }
        }
        if (!batch.isEmpty()) {
            out.add(Batches.toDataSet(batch, classes, temperature));
        }
        if (out.size() > maxBatches) { // the worker would silently skip the rest
            throw new RuntimeException("internal error: a training partition holds " + out.size() + " minibatches, more than the "
                    + maxBatches + " a worker fits per averaging round");
        }
        return out.iterator();
    }

    private Batches.Example example(TrainingRow row) {
        long id = row.id();
        if (row.features() == null) {
            throw new IllegalArgumentException("features are null for id " + id);
        }
        float[] features = row.features();
        if (features.length != featureCount) {
            throw new IllegalArgumentException("feature length " + features.length + " != " + featureCount + " for id "
                    + id);
        }
        for (float v : features) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("non-finite feature value " + v + " for id " + id);
            }
        }
        float[] logits = row.logits();
        int label = row.label() == null ? -1 : row.label();
        if (row.label() != null && (label < 0 || label >= classes)) {
            throw new IllegalArgumentException("label " + label + " out of range [0, " + classes + ") for id " + id
                    + " (null marks a row without a label)");
        }
        float[] layer = row.layer(); // the stored teacher layer, if joined
        return switch (objective) {
            case KD -> new Batches.Example(features, logits, label, layer);
            case HARD, MUTUAL -> new Batches.Example(features, null, label);
            case PSEUDO_LABEL -> new Batches.Example(features, null, label >= 0 ? label : SoftTargets.argmax(logits));
        };
    }
}
