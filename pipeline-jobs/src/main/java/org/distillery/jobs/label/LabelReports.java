package org.distillery.jobs.label;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.util.AccumulatorV2;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.schema.SoftTargetSchema;
import scala.Tuple2;

/**
 * What a label run says about its own output, computed in one pass on the executors and published beside the rows:
 * the soft-label quality report (entropy and max-probability histograms, class coverage, teacher vs hard-label
 * disagreement per class, classes missing from the transfer set) and, when the run replaces a previous output, the
 * label-drift report (rows changed beyond rounding, argmax flips per class, mean KL(old || new)).
 */
final class LabelReports {
    static final String QUALITY = "_quality.json"; // "_": Parquet readers skip it
    static final String DRIFT = "_drift.json";
    static final int BINS = 10;

    private LabelReports() {
    }

    /** Per-row tallies of the quality report; merged across partitions. */
    static final class Quality implements Serializable {
        private static final long serialVersionUID = 1L;
        final long[] entropy = new long[BINS];
        final long[] maxProb = new long[BINS];
        final long[] byLabel;
        final long[] byTeacher;
        final long[] disagree;
        long unlabelled;

        Quality(int classes) {
            byLabel = new long[classes];
            byTeacher = new long[classes];
            disagree = new long[classes];
        }

        Quality add(float[] logits, Integer label, double t) {
            return add(logits, SoftTargets.soften(logits, t), label);
        }

        /** One row, with {@code p} = softmax(logits / T) at the report's T already computed. */
        Quality add(float[] logits, float[] p, Integer label) {
            double h = 0;
            float max = 0;
            for (float v : p) {
                h -= v > 0 ? v * Math.log(v) : 0;
                max = Math.max(max, v);
            }
            int classes = byTeacher.length;
            entropy[bin(h / Math.log(classes))]++;
            maxProb[bin(max)]++;
            int teacher = SoftTargets.argmax(logits);
            byTeacher[teacher]++;
            if (label == null) {
                unlabelled++;
            } else {
                byLabel[label]++;
                if (label != teacher) {
                    disagree[label]++;
                }
            }
            return this;
        }

        Quality merge(Quality o) {
            for (int i = 0; i < BINS; i++) {
                entropy[i] += o.entropy[i];
                maxProb[i] += o.maxProb[i];
            }
            for (int c = 0; c < byLabel.length; c++) {
                byLabel[c] += o.byLabel[c];
                byTeacher[c] += o.byTeacher[c];
                disagree[c] += o.disagree[c];
            }
            unlabelled += o.unlabelled;
            return this;
        }

        private static int bin(double v) {
            return (int) Math.min(BINS - 1, Math.max(0, Math.floor(v * BINS)));
        }
    }

    /**
     * The quality report of {@code rows} (id, label, dense logits: {@link TransferTables#denseLogits}) at T = t; every
     * per-class array is in the order of {@code classNames}, which the report lists.
     */
    static Map<String, Object> quality(Dataset<Row> rows, List<String> classNames, double t) {
        int classes = classNames.size();
        Quality q = rows.select(SoftTargetSchema.LOGITS, SoftTargetSchema.LABEL).javaRDD()
                .aggregate(new Quality(classes),
                        (acc, r) -> acc.add(TransferTables.floats(r, 0), r.isNullAt(1) ? null : r.getInt(1), t),
                        Quality::merge);
        return quality(q, classNames, t);
    }

    /**
     * The quality report's tallies gathered as the rows are made, on the executors (an accumulator: Spark merges what
     * each partition's successful attempt added, once), for a report without reading the written rows back.
     */
    static final class Tally extends AccumulatorV2<Quality, Quality> {
        private static final long serialVersionUID = 1L;
        private final double t;
        private Quality q;

        Tally(int classes, double t) {
            this.t = t;
            this.q = new Quality(classes);
        }

        /** One row: its dense logits as readers will decode them, and its hard label (null: none). */
        void add(float[] logits, Integer label) {
            q.add(logits, label, t);
        }

        /**
         * As {@link #add(float[], Integer)}, reusing {@code soft} when it is softmax(logits / softT) at this tally's
         * T (null: computed here).
         */
        void add(float[] logits, float[] soft, double softT, Integer label) {
            if (soft != null && softT == t) {
                q.add(logits, soft, label);
            } else {
                q.add(logits, label, t);
            }
        }

        @Override
        public boolean isZero() {
            return rowsOf(q.byTeacher) == 0;
        }

        @Override
        public Tally copy() {
            Tally c = new Tally(q.byTeacher.length, t);
            c.q.merge(q);
            return c;
        }

        @Override
        public void reset() {
            q = new Quality(q.byTeacher.length);
        }

        @Override
        public void add(Quality v) {
            q.merge(v);
        }

        @Override
        public void merge(AccumulatorV2<Quality, Quality> other) {
            q.merge(other.value());
        }

        @Override
        public Quality value() {
            return q;
        }
    }

    /** The quality report from what {@code tally} gathered. */
    static Map<String, Object> quality(Tally tally, List<String> classNames) {
        return quality(tally.value(), classNames, tally.t);
    }

    private static Map<String, Object> quality(Quality q, List<String> classNames, double t) {
        int classes = classNames.size();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("classNames", classNames);
        m.put("temperature", t);
        m.put("entropyHistogram", Map.of("binsOf", "entropy / ln(classes) in [0, 1]", "counts", q.entropy));
        m.put("maxProbabilityHistogram", Map.of("binsOf", "max softmax(logits / T) in [0, 1]", "counts", q.maxProb));
        m.put("rowsByHardLabel", q.byLabel);
        m.put("rowsByTeacherArgmax", q.byTeacher);
        m.put("unlabelledRows", q.unlabelled);
        Double[] rate = new Double[classes]; // null where the class has no hard-labelled row
        List<Integer> missing = new java.util.ArrayList<>();
        boolean labelled = q.unlabelled < rowsOf(q.byTeacher); // any hard label: judge coverage by labels
        for (int c = 0; c < classes; c++) {
            rate[c] = q.byLabel[c] == 0 ? null : q.disagree[c] / (double) q.byLabel[c];
            if (labelled ? q.byLabel[c] == 0 : q.byTeacher[c] == 0) {
                missing.add(c);
            }
        }
        m.put("teacherDisagreesWithHardLabelRate", rate);
        m.put("classesMissingFromTransferSet", missing);
        m.put("classNamesMissingFromTransferSet", missing.stream().map(classNames::get).toList());
        return m;
    }

    private static long rowsOf(long[] counts) {
        long n = 0;
        for (long c : counts) {
            n += c;
        }
        return n;
    }

    /**
     * A logit counts as changed when it moved by more than this fraction of the row's largest |logit| (and at least this
     * much absolute): ~1,700 float32 ulps of that logit. The same teacher run by another BLAS kernel (another CPU, another
     * OpenBLAS core type, another batch size) moves logits by a few ulps, which is rounding, not drift; a new teacher or
     * changed features move them by orders of magnitude more.
     */
    static final double CHANGED = 1e-4;

    /** Tallies of the drift report. */
    static final class Drift implements Serializable {
        private static final long serialVersionUID = 1L;
        final long[] flipsByOldClass;
        long compared;
        long changed;
        long changedBits;
        double klSum;

        Drift(int classes) {
            flipsByOldClass = new long[classes];
        }

        Drift add(float[] old, float[] now, double t) {
            compared++;
            if (!java.util.Arrays.equals(old, now)) {
                changedBits++;
                if (changed(old, now)) {
                    changed++;
                }
            }
            int a = SoftTargets.argmax(old);
            if (a != SoftTargets.argmax(now)) {
                flipsByOldClass[a]++;
            }
            klSum += SoftTargets.kl(SoftTargets.soften(old, t), SoftTargets.soften(now, t));
            return this;
        }

        /** Whether some logit moved by more than {@link #CHANGED} of the row's scale. */
        static boolean changed(float[] old, float[] now) {
            double scale = 1;
            for (int c = 0; c < old.length; c++) {
                scale = Math.max(scale, Math.max(Math.abs(old[c]), Math.abs(now[c])));
            }
            for (int c = 0; c < old.length; c++) {
                if (!(Math.abs((double) old[c] - now[c]) <= CHANGED * scale)) { // NaN counts as changed
                    return true;
                }
            }
            return false;
        }

        Drift merge(Drift o) {
            compared += o.compared;
            changed += o.changed;
            changedBits += o.changedBits;
            klSum += o.klSum;
            for (int c = 0; c < flipsByOldClass.length; c++) {
                flipsByOldClass[c] += o.flipsByOldClass[c];
            }
            return this;
        }
    }

    /**
     * Drift from the previous output {@code old} to {@code now} (both id, label, dense logits), joined by id, both
     * re-softened at {@code t}.
     */
    static Map<String, Object> drift(Dataset<Row> old, Dataset<Row> now, List<String> classNames, double t,
                                     String oldManifest, String oldTeacher, String newTeacher) {
        int classes = classNames.size();
        var o = old.select(SoftTargetSchema.ID, SoftTargetSchema.LOGITS).javaRDD()
                .mapToPair(r -> new Tuple2<>(r.getLong(0), TransferTables.floats(r, 1)));
        var n = now.select(SoftTargetSchema.ID, SoftTargetSchema.LOGITS).javaRDD()
                .mapToPair(r -> new Tuple2<>(r.getLong(0), TransferTables.floats(r, 1)));
        Drift d = o.join(n).values().aggregate(new Drift(classes), (acc, p) -> acc.add(p._1(), p._2(), t),
                Drift::merge);
        long oldRows = old.count();
        long newRows = now.count();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("classNames", classNames);
        m.put("previousManifest", oldManifest);
        m.put("previousTeacherSha256", oldTeacher);
        m.put("teacherSha256", newTeacher);
        m.put("temperature", t);
        m.put("rowsCompared", d.compared);
        m.put("rowsOnlyInPrevious", oldRows - d.compared);
        m.put("rowsOnlyInNew", newRows - d.compared);
        m.put("rowsChanged", d.changed);
        m.put("rowsChangedTolerance", CHANGED);
        m.put("rowsWithOtherBits", d.changedBits);
        long flips = 0;
        for (long f : d.flipsByOldClass) {
            flips += f;
        }
        m.put("argmaxFlips", flips);
        m.put("argmaxFlipsByPreviousClass", d.flipsByOldClass);
        m.put("meanKlPreviousToNew", d.compared == 0 ? null : d.klSum / d.compared);
        return m;
    }
}
