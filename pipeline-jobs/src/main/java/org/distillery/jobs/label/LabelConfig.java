package org.distillery.jobs.label;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.List;
import org.distillery.jobs.common.PartitionedTable;
import org.distillery.jobs.common.PublishMode;
import org.distillery.model.schema.SoftTargetLayout;

/**
 * Validated configuration of the label job, grouped by concern. Build it by name with {@link #builder}; the defaults
 * below are the only place the label defaults are declared (the CLI's options refer to them).
 *
 * <p>Manifests record it and reruns compare it as the flat JSON object it has always serialised to
 * ({@link LabelConfigJson}), so outputs published before the grouping are still recognised.
 *
 * @param transfer    published transfer set to label
 * @param partitions  for a partitioned transfer set ({@link PartitionedTable}), the partitions to label, as
 *                    {@code COLUMN=VALUE}; empty: every partition
 * @param teachers    the teacher or ensemble and what it is checked against
 * @param temperature T recorded in the manifest (the trainer's default) and of the {@code soft} column,
 *                    softmax(logits / T); raw logits (all, or the top K) are always stored too
 * @param batchSize   rows per teacher inference call (for a text transfer set, tokens)
 * @param stored      what each output row stores besides its logits, and how the logits are encoded
 * @param out         output directory for the soft targets
 * @param mode        what to do when {@code out} is already published
 */
public record LabelConfig(String transfer, List<String> partitions, Teachers teachers, double temperature,
                          int batchSize, Stored stored, String out, PublishMode mode) {
    public static final double DEFAULT_TEMPERATURE = 2.0;
    public static final int DEFAULT_BATCH = 1024;
    /**
     * Tokens per teacher call over a text transfer set: 64 windows of 64 characters. An LSTM teacher steps through a
     * window's positions one by one, so few windows per call leave each step's matrix products small (8 windows per
     * call ran 2.5 times slower than 64).
     */
    public static final int DEFAULT_TEXT_BATCH = 4096;
    public static final String DEFAULT_ENSEMBLE = "prob";

    /**
     * The teacher, or several averaged as an ensemble, and the checks it must pass.
     *
     * @param paths            published teacher directories or teacher files (DL4J zip, Keras HDF5, ONNX)
     * @param weights          the teachers' weights (empty: equal), normalised to sum to 1
     * @param ensemble         how several teachers are averaged: {@code prob} (softmax(z_i / T), stored as logits
     *                         T log p) or {@code logit} (the weighted mean of the raw logits)
     * @param sha256s          when set, one SHA-256 per teacher that its file must have (the run is refused otherwise)
     * @param outputs          for ONNX teachers with several outputs, the output read, one entry per teacher in order
     *                         ("" for a teacher that needs none); empty: none named
     * @param vocabularySha256 for a text transfer set, the SHA-256 of the vocabulary the teacher LM was trained with
     *                         (what a teacher that records none, e.g. an ONNX file, is checked against); null: only
     *                         the teacher's own record, when it has one, is checked
     */
    public record Teachers(List<String> paths, List<Double> weights, String ensemble, List<String> sha256s,
                           List<String> outputs, String vocabularySha256) {
        public Teachers {
            if (paths == null || paths.isEmpty()) {
                throw new IllegalArgumentException("teacher path must be set, got none");
            }
            paths.forEach(t -> require(t, "teacher"));
            paths = List.copyOf(paths);
            weights = weights == null ? List.of() : List.copyOf(weights);
            if (!weights.isEmpty() && weights.size() != paths.size()) {
                throw new IllegalArgumentException("got " + weights.size() + " teacher weights for " + paths.size()
                        + " teachers");
            }
            for (double w : weights) {
                if (!(w > 0) || Double.isInfinite(w)) {
                    throw new IllegalArgumentException("teacher weights must be finite numbers > 0, got " + w);
                }
            }
            ensemble = ensemble == null ? DEFAULT_ENSEMBLE : ensemble;
            if (!ensemble.equals("prob") && !ensemble.equals("logit")) {
                throw new IllegalArgumentException("ensemble must be prob or logit, got '" + ensemble + "'");
            }
            sha256s = sha256s == null ? List.of() : List.copyOf(sha256s);
            for (String sha : sha256s) {
                if (sha == null || !sha.matches("[0-9a-f]{64}")) {
                    throw new IllegalArgumentException("teacher SHA-256 must be 64 lower-case hex digits, got '" + sha
                            + "'");
                }
            }
            if (!sha256s.isEmpty() && sha256s.size() != paths.size()) {
                throw new IllegalArgumentException("got " + sha256s.size() + " --teacher-sha256 values for "
                        + paths.size() + " teachers (one per --teacher, in order)");
            }
            outputs = outputs == null ? List.of() : outputs.stream().map(o -> o == null ? "" : o.strip()).toList();
            if (outputs.stream().allMatch(String::isEmpty)) {
                outputs = List.of();
            }
            if (!outputs.isEmpty() && outputs.size() != paths.size()) {
                throw new IllegalArgumentException("got " + outputs.size() + " --teacher-output values for "
                        + paths.size() + " teachers (one per --teacher, in order; empty for a teacher that needs"
                        + " none)");
            }
            if (vocabularySha256 != null && !vocabularySha256.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("vocabulary SHA-256 must be 64 lower-case hex digits, got '"
                        + vocabularySha256 + "'");
            }
        }
    }

    /**
     * What each output row stores. The storage options null mean their defaults, so that a config with none set
     * serialises as soft-target schema version 1 did.
     *
     * @param precision how logits are stored: {@code fp32} or {@code fp16}; null: fp32
     * @param topK      store only the K largest logits and the log-sum-exp of the rest; null: every class
     * @param soft      whether to store the {@code soft} column; null: only for fp32 without top-k (as version 1)
     * @param hintLayer also store the activations of this teacher layer (0-based index into its layers) in the
     *                  {@code hint} column, for FitNets hints and relation-based KD; null: none
     */
    public record Stored(String precision, Integer topK, Boolean soft, Integer hintLayer) {
        /** Every default: fp32 logits of every class, the soft column, no hint. */
        public static final Stored DEFAULT = new Stored(null, null, null, null);

        public Stored {
            if (precision != null) {
                SoftTargetLayout.Precision.parse(precision);
            }
            if (topK != null && topK < 1) { // the upper bound, the teacher's class count, is checked once it is loaded
                throw new IllegalArgumentException("top-k must be in [1, classes], got " + topK);
            }
            if (hintLayer != null && hintLayer < 0) { // the upper bound, the teacher's layer count, once it is loaded
                throw new IllegalArgumentException("hint layer must be a layer index >= 0, got " + hintLayer);
            }
        }
    }

    public LabelConfig {
        require(transfer, "transfer");
        require(out, "out");
        if (teachers == null) {
            throw new IllegalArgumentException("teacher path must be set, got none");
        }
        stored = stored == null ? Stored.DEFAULT : stored;
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        }
        mode = mode == null ? PublishMode.FAIL_IF_EXISTS : mode;
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        if (stored.hintLayer() != null && teachers.paths().size() > 1) {
            throw new IllegalArgumentException("--hint-layer needs a single teacher (layers of an ensemble's members"
                    + " are not averaged), got " + teachers.paths().size() + " teachers");
        }
        partitions = partitions == null ? List.of() : List.copyOf(new java.util.TreeSet<>(partitions));
        partitions.forEach(PartitionedTable::column); // COLUMN=VALUE, or an error naming the value
    }

    /** The flat JSON object manifests have always recorded. */
    @JsonValue
    LabelConfigJson json() {
        return LabelConfigJson.of(this);
    }

    /** A builder of a config labelling {@code transfer} into {@code out}, every other value at its default. */
    public static LabelConfigBuilder builder(String transfer, String out) {
        return new LabelConfigBuilder(transfer, out);
    }

    /** A builder holding this config's values, to change some by name. */
    public LabelConfigBuilder toBuilder() {
        return new LabelConfigBuilder(this);
    }

    /** This config with the storage options {@code precision}, {@code topK} and {@code soft} (null: default). */
    public LabelConfig withStorage(String precision, Integer topK, Boolean soft) {
        return toBuilder().precision(precision).topK(topK).soft(soft).build();
    }

    /** This config also storing teacher layer {@code layer}'s activations (null: none). */
    public LabelConfig withHintLayer(Integer layer) {
        return toBuilder().hintLayer(layer).build();
    }

    /** This config labelling only {@code names} ({@code COLUMN=VALUE}) of a partitioned transfer set. */
    public LabelConfig withPartitions(List<String> names) {
        return toBuilder().partitions(names).build();
    }

    /** The run of one partition {@code name}: its transfer partition into the output partition of the same name. */
    LabelConfig forPartition(String name) {
        return toBuilder().transfer(trimSlash(transfer) + "/" + name).out(trimSlash(out) + "/" + name)
                .partitions(List.of()).build();
    }

    /** This config reading ONNX output {@code names} (one per teacher, "" for none) of its teachers. */
    public LabelConfig withTeacherOutputs(List<String> names) {
        return toBuilder().teacherOutputs(names).build();
    }

    /** The output of teacher {@code i} to read, or null when none is named. */
    public String teacherOutput(int i) {
        List<String> outputs = teachers.outputs();
        return outputs.isEmpty() || outputs.get(i).isEmpty() ? null : outputs.get(i);
    }

    /** How the output stores its logits, for a teacher of {@code classes} classes (K &lt;= classes checked here). */
    public SoftTargetLayout layout(int classes) {
        return SoftTargetLayout.of(classes, stored.precision(), stored.topK(), stored.soft());
    }

    /** The teachers' weights, normalised to sum to 1. */
    public double[] normalisedWeights() {
        List<Double> weights = teachers.weights();
        double[] w = new double[teachers.paths().size()];
        double sum = 0;
        for (int i = 0; i < w.length; i++) {
            w[i] = weights.isEmpty() ? 1 : weights.get(i);
            sum += w[i];
        }
        for (int i = 0; i < w.length; i++) {
            w[i] /= sum;
        }
        return w;
    }

    private static String trimSlash(String p) {
        return p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }

    private static void require(String v, String name) {
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException(name + " path must be set, got '" + v + "'");
        }
    }
}
