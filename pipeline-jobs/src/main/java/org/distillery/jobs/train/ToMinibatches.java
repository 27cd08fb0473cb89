package org.distillery.jobs.train;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.distillery.jobs.common.TransferTables;
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
final class ToMinibatches implements FlatMapFunction<Iterator<Row>, DataSet> {
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

    @Override
    public Iterator<DataSet> call(Iterator<Row> rows) {
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

    private Batches.Example example(Row row) {
        long id = row.getLong(0);
        if (row.isNullAt(1)) {
            throw new IllegalArgumentException("features are null for id " + id);
        }
        float[] features = TransferTables.floats(row, 1);
        if (features.length != featureCount) {
            throw new IllegalArgumentException("feature length " + features.length + " != " + featureCount + " for id "
                    + id);
        }
        for (float v : features) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("non-finite feature value " + v + " for id " + id);
            }
        }
        float[] logits = row.isNullAt(2) ? null : TransferTables.floats(row, 2);
        int label = row.isNullAt(3) ? -1 : row.getInt(3);
        if (!row.isNullAt(3) && (label < 0 || label >= classes)) {
            throw new IllegalArgumentException("label " + label + " out of range [0, " + classes + ") for id " + id
                    + " (null marks a row without a label)");
        }
        float[] layer = row.size() > 4 ? TransferTables.floats(row, 4) : null; // the stored teacher layer, if joined
        return switch (objective) {
            case KD -> new Batches.Example(features, logits, label, layer);
            case HARD, MUTUAL -> new Batches.Example(features, null, label);
            case PSEUDO_LABEL -> new Batches.Example(features, null, label >= 0 ? label : SoftTargets.argmax(logits));
        };
    }
}
