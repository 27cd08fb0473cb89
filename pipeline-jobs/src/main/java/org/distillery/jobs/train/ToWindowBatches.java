package org.distillery.jobs.train;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.text.WindowBatches;
import org.distillery.model.text.Windowing;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Rows (id, tokens, scored_from, scored_to) of a text transfer set's partition to LM minibatches
 * ({@link WindowBatches}: ids [N, T], one-hot next tokens [N, 2V, T], the scored positions as the labels mask, so
 * burn-in and padding carry no loss). Each row is checked as it is read and a bad one refused naming its id: tokens of
 * another length, an id outside the vocabulary, a scored range outside the window.
 */
final class ToWindowBatches implements FlatMapFunction<Iterator<Row>, DataSet> {
    private static final long serialVersionUID = 1L;
    private final int vocabulary;
    private final int windowLength;
    private final int batchSize;
    private final int maxBatches;

    ToWindowBatches(int vocabulary, int windowLength, int batchSize, int maxBatches) {
        this.vocabulary = vocabulary;
        this.windowLength = windowLength;
        this.batchSize = batchSize;
        this.maxBatches = maxBatches;
    }

    @Override
    public Iterator<DataSet> call(Iterator<Row> rows) {
        List<DataSet> out = new ArrayList<>();
        List<WindowBatches.Example> batch = new ArrayList<>(batchSize);
        while (rows.hasNext()) {
            batch.add(WindowBatches.Example.of(window(rows.next(), vocabulary, windowLength)));
            if (batch.size() == batchSize) {
                out.add(WindowBatches.toDataSet(batch, vocabulary, 1.0));
                batch.clear();
            }
        }
        if (!batch.isEmpty()) {
            out.add(WindowBatches.toDataSet(batch, vocabulary, 1.0));
        }
        if (out.size() > maxBatches) { // the worker would silently skip the rest
            throw new RuntimeException("internal error: a training partition holds " + out.size() + " minibatches, more"
                    + " than the " + maxBatches + " a worker fits per averaging round");
        }
        return out.iterator();
    }

    /** A row (id, tokens, scored_from, scored_to) as a window, checked; errors name the row's id. */
    static Windowing.Window window(Row row, int vocabulary, int windowLength) {
        long id = row.getLong(0);
        if (row.isNullAt(1)) {
            throw new IllegalArgumentException("tokens are null for window id " + id);
        }
        int[] tokens = TransferTables.ints(row, 1);
        if (tokens.length != windowLength + 1) {
            throw new IllegalArgumentException("window id " + id + " has " + tokens.length + " tokens, expected "
                    + (windowLength + 1) + " (the manifest's window length + 1)");
        }
        for (int t : tokens) {
            if (t < 0 || t >= vocabulary) {
                throw new IllegalArgumentException("token " + t + " outside [0, " + vocabulary + ") in window id " + id);
            }
        }
        try {
            return TextTransferSchema.window(0, 0, tokens, row.getInt(2), row.getInt(3));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + " (window id " + id + ")", e);
        }
    }
}
