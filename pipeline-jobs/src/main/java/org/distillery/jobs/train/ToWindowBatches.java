package org.distillery.jobs.train;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.distillery.jobs.common.TokenTables;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.schema.TokenSoftTargetCodec;
import org.distillery.model.text.WindowBatches;
import org.distillery.model.text.Windowing;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Rows (id, tokens, scored_from, scored_to[, the teacher's stored logit columns]) of a partition to LM minibatches
 * ({@link WindowBatches}: ids [N, T], softened teacher distributions and one-hot next tokens [N, 2V, T], the scored
 * positions as the labels mask, so burn-in and padding carry no loss). With a soft-target layout each row's stored
 * logits are decoded position by position ({@link TokenSoftTargetCodec}: a top-K position's tail mass spread evenly
 * over the tokens left out) and softened at the temperature. Each row is checked as it is read and a bad one refused
 * naming its id: tokens of another length, an id outside the vocabulary, a scored range outside the window, stored
 * logits that do not fit the layout.
 */
final class ToWindowBatches implements FlatMapFunction<Iterator<Row>, DataSet> {
    private static final long serialVersionUID = 1L;
    private final int vocabulary;
    private final int windowLength;
    private final int batchSize;
    private final int maxBatches;
    private final SoftTargetLayout layout; // null: hard targets only
    private final double temperature;

    ToWindowBatches(int vocabulary, int windowLength, int batchSize, int maxBatches, SoftTargetLayout layout,
                    double temperature) {
        this.vocabulary = vocabulary;
        this.windowLength = windowLength;
        this.batchSize = batchSize;
        this.maxBatches = maxBatches;
        this.layout = layout;
        this.temperature = temperature;
    }

    /** The columns this function reads, in order. */
    static List<String> columns(SoftTargetLayout layout) {
        List<String> c = new ArrayList<>(List.of(TextTransferSchema.ID, TextTransferSchema.TOKENS,
                TextTransferSchema.SCORED_FROM, TextTransferSchema.SCORED_TO));
        if (layout != null) {
            c.addAll(layout.logitColumns());
        }
        return c;
    }

    @Override
    public Iterator<DataSet> call(Iterator<Row> rows) {
        TokenSoftTargetCodec codec = layout == null ? null : new TokenSoftTargetCodec(layout);
        List<DataSet> out = new ArrayList<>();
        List<WindowBatches.Example> batch = new ArrayList<>(batchSize);
        while (rows.hasNext()) {
            Row row = rows.next();
            Windowing.Window w = window(row, vocabulary, windowLength);
            batch.add(codec == null ? WindowBatches.Example.of(w) : WindowBatches.Example.of(w)
                    .withTeacher(teacher(codec, row, w)));
            if (batch.size() == batchSize) {
                out.add(WindowBatches.toDataSet(batch, vocabulary, temperature));
                batch.clear();
            }
        }
        if (!batch.isEmpty()) {
            out.add(WindowBatches.toDataSet(batch, vocabulary, temperature));
        }
        if (out.size() > maxBatches) { // the worker would silently skip the rest
            throw new RuntimeException("internal error: a training partition holds " + out.size() + " minibatches, more"
                    + " than the " + maxBatches + " a worker fits per averaging round");
        }
        return out.iterator();
    }

    /** A row (id, tokens, scored_from, scored_to, ...) as a window, checked; errors name the row's id. */
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

    /** The teacher's dense logits at each scored position of {@code w} (null elsewhere: masked, no soft term). */
    private float[][] teacher(TokenSoftTargetCodec codec, Row row, Windowing.Window w) {
        float[][] perPosition = new float[windowLength][];
        try {
            float[][] scored = codec.decode(w.scored(), TokenTables.stored(row, 4, layout));
            System.arraycopy(scored, 0, perPosition, w.scoredFrom(), scored.length);
        } catch (IllegalStateException | IllegalArgumentException | ClassCastException e) {
            throw new IllegalStateException("token soft targets of window id " + row.getLong(0) + ": " + e.getMessage(),
                    e);
        }
        return perPosition;
    }
}
