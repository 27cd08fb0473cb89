package org.distillery.model.text;

import java.io.Serializable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One LM's next-token quality over the scored tokens of a test split, accumulated batch by batch and mergeable (one
 * accumulator per Spark partition, then {@link #merge}):
 * <ul>
 *   <li>{@link #bitsPerChar()}: the mean negative log2-likelihood of the true next token; with a character vocabulary a
 *   token is a character, and the document boundary counts as one (as a newline would);</li>
 *   <li>{@link #perplexity()}: exp of the mean negative log-likelihood in nats, 2^bits;</li>
 *   <li>{@link #accuracy()}: how often the argmax (first on ties) is the true next token;</li>
 *   <li>{@link #ece()}: expected calibration error of the top-1 confidence (max softmax probability) over
 *   equal-width bins, binned as {@link org.distillery.model.calibration.Reliability} bins classification rows.</li>
 * </ul>
 * Each of them is NaN before the first token.
 */
public final class NextTokenMetrics implements Serializable {
    private static final long serialVersionUID = 1L;
    /** The bins of the classification report's ECE. */
    public static final int DEFAULT_BINS = 15;

    private long tokens;
    private double nats;
    private long correct;
    private final long[] binCount;
    private final double[] binConfidence;
    private final long[] binCorrect;

    /** An empty accumulator whose ECE uses {@code bins} equal-width confidence bins. */
    public NextTokenMetrics(int bins) {
        if (bins < 1) {
            throw new IllegalArgumentException("ECE needs at least one bin, got " + bins);
        }
        binCount = new long[bins];
        binConfidence = new double[bins];
        binCorrect = new long[bins];
    }

    /** Adds one scored token: the model's next-token logits and the true next token. */
    public void add(float[] logits, int target) {
        if (target < 0 || target >= logits.length) {
            throw new IllegalArgumentException("target token " + target + " outside [0, " + logits.length + ")");
        }
        double[] logP = ScoredTokens.logSoftmax(logits);
        int top = ScoredTokens.argmax(logits);
        double confidence = Math.exp(logP[top]);
        int bin = Math.min(binCount.length - 1, (int) (confidence * binCount.length));
        boolean right = top == target;
        tokens++;
        nats -= logP[target];
        correct += right ? 1 : 0;
        binCount[bin]++;
        binConfidence[bin] += confidence;
        binCorrect[bin] += right ? 1 : 0;
    }

    /**
     * Adds the scored positions of a batch: {@code logits} [N, V, T], {@code targets[n][t]} the true next tokens,
     * {@code mask} [N, T] (positions with mask &gt; 0 count; null: all of them).
     */
    public void addBatch(INDArray logits, int[][] targets, INDArray mask) {
        ScoredTokens.forEach(mask, (n, t, rows) -> add(rows[0], targets[n][t]), logits);
    }

    /** Adds {@code other}'s tokens to this accumulator's; returns this. */
    public NextTokenMetrics merge(NextTokenMetrics other) {
        if (other.binCount.length != binCount.length) {
            throw new IllegalArgumentException("cannot merge metrics of " + other.binCount.length + " ECE bins into "
                    + binCount.length);
        }
        tokens += other.tokens;
        nats += other.nats;
        correct += other.correct;
        for (int b = 0; b < binCount.length; b++) {
            binCount[b] += other.binCount[b];
            binConfidence[b] += other.binConfidence[b];
            binCorrect[b] += other.binCorrect[b];
        }
        return this;
    }

    public long tokens() {
        return tokens;
    }

    /** Mean negative log-likelihood per token, in nats. */
    public double nats() {
        return tokens == 0 ? Double.NaN : nats / tokens;
    }

    public double bitsPerChar() {
        return nats() / Math.log(2);
    }

    public double perplexity() {
        return Math.exp(nats());
    }

    public double accuracy() {
        return tokens == 0 ? Double.NaN : correct / (double) tokens;
    }

    /** sum over bins of count * |mean confidence - accuracy|, divided by the token count. */
    public double ece() {
        if (tokens == 0) {
            return Double.NaN;
        }
        double gap = 0;
        for (int b = 0; b < binCount.length; b++) {
            gap += Math.abs(binConfidence[b] - binCorrect[b]); // = count * |mean conf - accuracy|
        }
        return gap / tokens;
    }
}
