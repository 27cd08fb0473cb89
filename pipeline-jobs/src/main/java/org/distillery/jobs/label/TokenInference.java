package org.distillery.jobs.label;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.distillery.jobs.common.TeacherLms;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.nn.ModelFile;
import org.distillery.model.nn.TokenLogitFunction;
import org.distillery.model.schema.TokenSoftTargetCodec;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a frozen teacher LM over one partition of text transfer rows (id, document, window, tokens, scored_from,
 * scored_to, input_hash, in that order) in batches of windows and emits token soft-target rows
 * ({@link org.distillery.model.schema.TokenSoftTargetSchema}: the window, the stored values of the scored positions'
 * logits, teacher_nll and teacher_entropy from the full-precision logits, the input hash). Rows are validated in the
 * same pass: T + 1 tokens, ids in [0, V), a scored range inside the window, finite logits.
 */
final class TokenInference implements FlatMapFunction<Iterator<Row>, Row> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(TokenInference.class);
    private final String key;
    private final Broadcast<ModelFile> file;
    private final String output;
    private final int vocabulary;
    private final int length;
    private final int windowsPerCall;
    private final TokenSoftTargetCodec codec;

    /**
     * @param key            the teacher's SHA-256 (with its output): what executors cache it by
     * @param length         T, the transfer set's window length
     * @param windowsPerCall windows per teacher call
     */
    TokenInference(String key, Broadcast<ModelFile> file, String output, int vocabulary, int length,
                   int windowsPerCall, TokenSoftTargetCodec codec) {
        this.key = key;
        this.file = file;
        this.output = output;
        this.vocabulary = vocabulary;
        this.length = length;
        this.windowsPerCall = windowsPerCall;
        this.codec = codec;
    }

    /** The teacher on this JVM ({@link TeacherLms#get}). */
    static TokenLogitFunction teacher(String key, ModelFile file, String output, int vocabulary) {
        return TeacherLms.get(key, file, output, vocabulary);
    }

    /** Registers {@code lm}, loaded by the driver's check, as this JVM's instance of teacher {@code key}. */
    static void share(String key, TokenLogitFunction lm) {
        TeacherLms.share(key, lm);
    }

    /** One window as read, copied out of Spark's row. */
    private record In(long id, long document, int window, int[] tokens, int from, int to, long hash) {
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        TokenLogitFunction lm = teacher(key, file.value(), output, vocabulary);
        long[] nanos = new long[3]; // teacher, storing, windows: where a partition's time goes, logged at its end
        return new Iterator<>() {
            private Iterator<Row> batch = List.<Row>of().iterator();

            @Override
            public boolean hasNext() {
                while (!batch.hasNext() && rows.hasNext()) {
                    batch = label(lm, take(rows), nanos).iterator();
                }
                if (!batch.hasNext() && nanos[2] > 0) {
                    LOG.info("labelled {} windows: {} s in the teacher, {} s storing their logits", nanos[2],
                            String.format("%.2f", nanos[0] / 1e9), String.format("%.2f", nanos[1] / 1e9));
                    nanos[2] = 0;
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

    private List<In> take(Iterator<Row> rows) {
        List<In> batch = new ArrayList<>(windowsPerCall);
        while (rows.hasNext() && batch.size() < windowsPerCall) {
            Row r = rows.next();
            batch.add(checked(new In(r.getLong(0), r.getLong(1), r.getInt(2), TransferTables.ints(r, 3), r.getInt(4),
                    r.getInt(5), r.getLong(6))));
        }
        return batch;
    }

    private In checked(In w) {
        if (w.tokens().length != length + 1) {
            throw new IllegalArgumentException("window id " + w.id() + " has " + w.tokens().length + " tokens, but the"
                    + " transfer set's windows have " + (length + 1) + " (T + 1, T = " + length + ")");
        }
        for (int s = 0; s < w.tokens().length; s++) {
            int id = w.tokens()[s];
            if (id < 0 || id >= vocabulary) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + vocabulary
                        + ") at position " + s + " of window id " + w.id());
            }
        }
        if (w.from() < 0 || w.from() > w.to() || w.to() > length) {
            throw new IllegalArgumentException("window id " + w.id() + " scores [" + w.from() + ", " + w.to()
                    + "), outside its " + length + " positions");
        }
        return w;
    }

    private List<Row> label(TokenLogitFunction lm, List<In> batch, long[] nanos) {
        int n = batch.size();
        int[][] inputs = new int[n][];
        for (int i = 0; i < n; i++) {
            inputs[i] = java.util.Arrays.copyOf(batch.get(i).tokens(), length);
        }
        long start = System.nanoTime();
        INDArray logits = lm.logits(inputs); // [n, V, T]
        float[] z = logits.permute(0, 2, 1).dup('c').data().asFloat(); // [n, T, V]: a position's logits in a row
        long inferred = System.nanoTime();
        nanos[0] += inferred - start;
        nanos[2] += n;
        List<Row> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            In w = batch.get(i);
            float[][] scored = new float[w.to() - w.from()][];
            double nll = 0;
            double entropy = 0;
            for (int t = w.from(); t < w.to(); t++) {
                float[] row = new float[vocabulary];
                System.arraycopy(z, (i * length + t) * vocabulary, row, 0, vocabulary);
                for (int v = 0; v < vocabulary; v++) {
                    if (!Float.isFinite(row[v])) {
                        throw new IllegalStateException("teacher produced a non-finite logit (" + row[v]
                                + ") at position " + t + " of window id " + w.id());
                    }
                }
                double[] stats = nllAndEntropy(row, w.tokens()[t + 1]);
                nll += stats[0];
                entropy += stats[1];
                scored[t - w.from()] = row;
            }
            Object[] stored = codec.encode(scored);
            Object[] values = new Object[6 + stored.length + 3];
            values[0] = w.id();
            values[1] = w.document();
            values[2] = w.window();
            values[3] = w.tokens();
            values[4] = w.from();
            values[5] = w.to();
            System.arraycopy(stored, 0, values, 6, stored.length);
            values[6 + stored.length] = nll;
            values[7 + stored.length] = entropy;
            values[8 + stored.length] = w.hash();
            out.add(RowFactory.create(values));
        }
        nanos[1] += System.nanoTime() - inferred;
        return out;
    }

    /** -ln softmax(z)[target] and the entropy of softmax(z), in nats, in double precision. */
    static double[] nllAndEntropy(float[] z, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : z) {
            max = Math.max(max, x);
        }
        double sum = 0;
        double weighted = 0;
        for (float x : z) {
            double e = Math.exp(x - max);
            sum += e;
            weighted += e * (x - max);
        }
        double lse = max + Math.log(sum);
        return new double[] {lse - z[target], lse - max - weighted / sum};
    }
}
