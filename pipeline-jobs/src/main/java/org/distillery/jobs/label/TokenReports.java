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
 * carries at T = 1. And the drift report ({@code _drift.json}) when a run replaces a published output.
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
        m.put("storage", TokenSoftTargetSchema.describe(layout));
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

    /** Per-token tallies of the drift report; merged across partitions. */
    static final class Drift implements Serializable {
        private static final long serialVersionUID = 1L;
        long windows;
        long windowsOtherInput;
        long windowsChanged;
        long windowsOtherBits;
        long tokens;
        long tokensChanged;
        long flips;
        double klSum;

        /** Adds one window in both outputs: equal input hashes, and each output's stored values decoded. */
        Drift add(boolean sameInput, float[][] old, float[][] now, double t) {
            windows++;
            if (!sameInput) { // other tokens or scored range: positions are not the same predictions
                windowsOtherInput++;
                return this;
            }
            boolean changed = false;
            boolean otherBits = false;
            for (int p = 0; p < now.length; p++) {
                tokens++;
                if (!java.util.Arrays.equals(old[p], now[p])) {
                    otherBits = true;
                    if (LabelReports.Drift.changed(old[p], now[p])) {
                        tokensChanged++;
                        changed = true;
                    }
                }
                flips += SoftTargets.argmax(old[p]) != SoftTargets.argmax(now[p]) ? 1 : 0;
                klSum += SoftTargets.kl(SoftTargets.soften(old[p], t), SoftTargets.soften(now[p], t));
            }
            windowsChanged += changed ? 1 : 0;
            windowsOtherBits += otherBits ? 1 : 0;
            return this;
        }

        Drift merge(Drift o) {
            windows += o.windows;
            windowsOtherInput += o.windowsOtherInput;
            windowsChanged += o.windowsChanged;
            windowsOtherBits += o.windowsOtherBits;
            tokens += o.tokens;
            tokensChanged += o.tokensChanged;
            flips += o.flips;
            klSum += o.klSum;
            return this;
        }
    }

    /**
     * The drift report of token soft targets ({@code _drift.json}) from the output a run replaces, {@code old} of
     * {@code oldRows} windows in layout {@code oldLayout}, to the written rows {@code now} ({@code newRows}; both
     * counts as their manifest and the run already know them): windows joined by id; a window whose input hash
     * differs counts apart (its positions are other predictions); the others are compared position by position as
     * dense logits, each output decoded by its own layout (a top-K row with its tail spread, as the trainer reads it),
     * with the image report's threshold for a changed logit ({@link LabelReports#CHANGED}), top-1 flips and the mean
     * per-token KL(previous || new) at T = {@code t}.
     */
    static Map<String, Object> drift(Dataset<Row> old, long oldRows, SoftTargetLayout oldLayout, Dataset<Row> now,
                                     long newRows, SoftTargetLayout layout, double t, String oldManifest,
                                     String oldTeacher, String newTeacher) {
        var o = decoded(old, oldLayout);
        var n = decoded(now, layout);
        Drift d = o.join(n).values().aggregate(new Drift(),
                (acc, p) -> acc.add(p._1()._1().equals(p._2()._1()), p._1()._2(), p._2()._2(), t), Drift::merge);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("previousManifest", oldManifest);
        m.put("previousTeacherSha256", oldTeacher);
        m.put("teacherSha256", newTeacher);
        m.put("previousStorage", TokenSoftTargetSchema.describe(oldLayout));
        m.put("storage", TokenSoftTargetSchema.describe(layout));
        m.put("temperature", t);
        m.put("windowsCompared", d.windows - d.windowsOtherInput);
        m.put("windowsWithOtherInput", d.windowsOtherInput);
        m.put("windowsOnlyInPrevious", oldRows - d.windows);
        m.put("windowsOnlyInNew", newRows - d.windows);
        m.put("windowsChanged", d.windowsChanged);
        m.put("windowsWithOtherBits", d.windowsOtherBits);
        m.put("tokensCompared", d.tokens);
        m.put("tokensChanged", d.tokensChanged);
        m.put("tokensChangedTolerance", LabelReports.CHANGED);
        m.put("top1Flips", d.flips);
        m.put("meanKlPreviousToNew", d.tokens == 0 ? null : d.klSum / d.tokens);
        return m;
    }

    /** Each window's id to (input hash, its stored values decoded to dense logits per scored position). */
    private static org.apache.spark.api.java.JavaPairRDD<Long, scala.Tuple2<Long, float[][]>> decoded(
            Dataset<Row> rows, SoftTargetLayout layout) {
        List<String> cols = new java.util.ArrayList<>(List.of(TokenSoftTargetSchema.ID,
                TokenSoftTargetSchema.INPUT_HASH, TokenSoftTargetSchema.SCORED_FROM, TokenSoftTargetSchema.SCORED_TO));
        cols.addAll(layout.logitColumns());
        TokenSoftTargetCodec codec = new TokenSoftTargetCodec(layout);
        return rows.selectExpr(cols.toArray(String[]::new)).javaRDD().mapToPair(r -> new scala.Tuple2<>(r.getLong(0),
                new scala.Tuple2<>(r.getLong(1), codec.decode(r.getInt(3) - r.getInt(2),
                        org.distillery.jobs.common.TokenTables.stored(r, 4, layout)))));
    }

    private static Double perToken(double sum, long tokens) {
        return tokens == 0 ? Double.NaN : sum / tokens;
    }
}
