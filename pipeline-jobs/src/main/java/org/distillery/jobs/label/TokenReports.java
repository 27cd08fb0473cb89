package org.distillery.jobs.label;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.TokenSoftTargetCodec;
import org.distillery.model.schema.TokenSoftTargetSchema;

/**
 * The quality report of token-level soft targets ({@code _quality.json}), one pass over the written rows: the
 * teacher's bits per character and mean entropy on the scored tokens, exact (from the full-precision logits, the
 * teacher_nll and teacher_entropy columns), and what a reader of the stored values sees at T: per-token entropy and
 * top-1 probability histograms, the teacher's top-1 agreement with the text, and for a top-K layout the mass the tail
 * carries at T = 1.
 */
final class TokenReports {
    static final int BINS = 10;
    private static final double LN2 = Math.log(2);

    private TokenReports() {
    }

    /** Per-token tallies; merged across partitions. */
    static final class Quality implements Serializable {
        private static final long serialVersionUID = 1L;
        final long[] entropy = new long[BINS];
        final long[] maxProb = new long[BINS];
        long windows;
        long tokens;
        long top1;
        double nll;
        double teacherEntropy;
        double storedEntropy;
        double tailMass;

        /** Adds one stored window: its tokens (T + 1), the first scored position, stored values decoded to dense logits, and its exact sums. */
        Quality add(int[] window, int from, float[][] logits, float[] tailLse, double nll, double entropy, double t) {
            windows++;
            this.nll += nll;
            this.teacherEntropy += entropy;
            for (int p = 0; p < logits.length; p++) {
                float[] soft = SoftTargets.soften(logits[p], t);
                double h = 0;
                float max = 0;
                for (float v : soft) {
                    h -= v > 0 ? v * Math.log(v) : 0;
                    max = Math.max(max, v);
                }
                tokens++;
                storedEntropy += h;
                this.entropy[bin(h / Math.log(soft.length))]++;
                maxProb[bin(max)]++;
                top1 += SoftTargets.argmax(logits[p]) == window[from + p + 1] ? 1 : 0;
                if (tailLse != null) {
                    tailMass += Math.exp(tailLse[p] - logSumExp(logits[p]));
                }
            }
            return this;
        }

        Quality merge(Quality o) {
            for (int i = 0; i < BINS; i++) {
                entropy[i] += o.entropy[i];
                maxProb[i] += o.maxProb[i];
            }
            windows += o.windows;
            tokens += o.tokens;
            top1 += o.top1;
            nll += o.nll;
            teacherEntropy += o.teacherEntropy;
            storedEntropy += o.storedEntropy;
            tailMass += o.tailMass;
            return this;
        }

        private static int bin(double v) {
            return (int) Math.min(BINS - 1, Math.max(0, Math.floor(v * BINS)));
        }
    }

    /** log sum exp of {@code z} in double precision (of a decoded top-K row: the teacher's, the tail being kept). */
    static double logSumExp(float[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : z) {
            max = Math.max(max, x);
        }
        double sum = 0;
        for (float x : z) {
            sum += Math.exp(x - max);
        }
        return max + Math.log(sum);
    }

    /** The quality report of the written token soft targets {@code rows} at T = {@code t}. */
    static Map<String, Object> quality(Dataset<Row> rows, SoftTargetLayout layout, double t) {
        List<String> stored = layout.logitColumns();
        List<String> cols = new java.util.ArrayList<>(List.of(TokenSoftTargetSchema.TOKENS,
                TokenSoftTargetSchema.SCORED_FROM, TokenSoftTargetSchema.SCORED_TO, TokenSoftTargetSchema.TEACHER_NLL,
                TokenSoftTargetSchema.TEACHER_ENTROPY));
        cols.addAll(stored);
        TokenSoftTargetCodec codec = new TokenSoftTargetCodec(layout);
        boolean topK = layout.topKOnly();
        Quality q = rows.selectExpr(cols.toArray(String[]::new)).javaRDD().aggregate(new Quality(), (acc, r) -> {
            int from = r.getInt(1);
            int positions = r.getInt(2) - from;
            Object[] values = org.distillery.jobs.common.TokenTables.stored(r, 5, layout);
            return acc.add(TransferTables.ints(r, 0), from, codec.decode(positions, values),
                    topK ? (float[]) values[2] : null, r.getDouble(3), r.getDouble(4), t);
        }, Quality::merge);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("windows", q.windows);
        m.put("scoredTokens", q.tokens);
        m.put("teacherBitsPerChar", perToken(q.nll, q.tokens) / LN2);
        m.put("teacherEntropyBitsPerToken", perToken(q.teacherEntropy, q.tokens) / LN2);
        m.put("teacherTop1Accuracy", q.tokens == 0 ? null : q.top1 / (double) q.tokens);
        m.put("temperature", t);
        m.put("storage", layout.describe());
        m.put("storedEntropyBitsPerTokenAtT", perToken(q.storedEntropy, q.tokens) / LN2);
        m.put("entropyHistogram", Map.of("binsOf", "entropy of softmax(stored logits / T) / ln(V), in [0, 1]",
                "counts", q.entropy));
        m.put("maxProbabilityHistogram", Map.of("binsOf", "max softmax(stored logits / T), in [0, 1]",
                "counts", q.maxProb));
        if (topK) {
            m.put("meanTailMassAtT1", perToken(q.tailMass, q.tokens));
        }
        return m;
    }

    private static Double perToken(double sum, long tokens) {
        return tokens == 0 ? Double.NaN : sum / tokens;
    }
}
