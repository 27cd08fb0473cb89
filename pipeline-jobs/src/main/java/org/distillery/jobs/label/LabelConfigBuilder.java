package org.distillery.jobs.label;

import java.util.List;
import org.distillery.jobs.common.PublishMode;

/**
 * Builds a {@link LabelConfig} by name: equal weights, prob ensembles, T = {@link LabelConfig#DEFAULT_TEMPERATURE},
 * batches of {@link LabelConfig#DEFAULT_BATCH}, no pinned checksums, fail-if-exists, default storage, no hint layer,
 * every partition and no named outputs until set; {@link #build} validates the whole.
 */
public final class LabelConfigBuilder {
    private String transfer;
    private String out;
    private List<String> teachers = List.of();
    private List<Double> weights = List.of();
    private String ensemble = LabelConfig.DEFAULT_ENSEMBLE;
    private double temperature = LabelConfig.DEFAULT_TEMPERATURE;
    private int batchSize = LabelConfig.DEFAULT_BATCH;
    private List<String> teacherSha256s = List.of();
    private PublishMode mode = PublishMode.FAIL_IF_EXISTS;
    private String precision;
    private Integer topK;
    private Boolean soft;
    private Integer hintLayer;
    private List<String> partitions = List.of();
    private List<String> teacherOutputs = List.of();
    private String vocabularySha256;

    LabelConfigBuilder(String transfer, String out) {
        this.transfer = transfer;
        this.out = out;
    }

    LabelConfigBuilder(LabelConfig c) {
        this(c.transfer(), c.out());
        LabelConfig.Teachers t = c.teachers();
        LabelConfig.Stored s = c.stored();
        teachers(t.paths()).weights(t.weights()).ensemble(t.ensemble()).teacherSha256s(t.sha256s())
                .teacherOutputs(t.outputs()).vocabularySha256(t.vocabularySha256())
                .temperature(c.temperature()).batchSize(c.batchSize()).mode(c.mode())
                .precision(s.precision()).topK(s.topK()).soft(s.soft()).hintLayer(s.hintLayer())
                .partitions(c.partitions());
    }

    public LabelConfigBuilder transfer(String path) {
        this.transfer = path;
        return this;
    }

    public LabelConfigBuilder out(String path) {
        this.out = path;
        return this;
    }

    /** One teacher (a published directory or a model file). */
    public LabelConfigBuilder teacher(String path) {
        return teachers(List.of(path == null ? "" : path));
    }

    /** Several teachers, averaged as an ensemble. */
    public LabelConfigBuilder teachers(List<String> paths) {
        this.teachers = paths;
        return this;
    }

    /** The teachers' weights, in teacher order (empty: equal). */
    public LabelConfigBuilder weights(List<Double> weights) {
        this.weights = weights;
        return this;
    }

    /** How several teachers are averaged: prob or logit. */
    public LabelConfigBuilder ensemble(String ensemble) {
        this.ensemble = ensemble;
        return this;
    }

    public LabelConfigBuilder temperature(double temperature) {
        this.temperature = temperature;
        return this;
    }

    public LabelConfigBuilder batchSize(int rows) {
        this.batchSize = rows;
        return this;
    }

    /** The SHA-256 the single teacher must have (null: not pinned). */
    public LabelConfigBuilder teacherSha256(String sha256) {
        return teacherSha256s(sha256 == null ? List.of() : List.of(sha256));
    }

    /** One SHA-256 per teacher, in order, that its file must have. */
    public LabelConfigBuilder teacherSha256s(List<String> sha256s) {
        this.teacherSha256s = sha256s;
        return this;
    }

    public LabelConfigBuilder mode(PublishMode mode) {
        this.mode = mode;
        return this;
    }

    /** How logits are stored: fp32 or fp16 (null: fp32). */
    public LabelConfigBuilder precision(String precision) {
        this.precision = precision;
        return this;
    }

    /** Store only the K largest logits (null: every class). */
    public LabelConfigBuilder topK(Integer k) {
        this.topK = k;
        return this;
    }

    /** Whether to store the soft column (null: only for fp32 without top-k). */
    public LabelConfigBuilder soft(Boolean soft) {
        this.soft = soft;
        return this;
    }

    /** Also store this teacher layer's activations (null: none). */
    public LabelConfigBuilder hintLayer(Integer layer) {
        this.hintLayer = layer;
        return this;
    }

    /** The partitions ({@code COLUMN=VALUE}) of a partitioned transfer set to label (empty: all). */
    public LabelConfigBuilder partitions(List<String> names) {
        this.partitions = names;
        return this;
    }

    /** The ONNX output read of each teacher, in order ("" for none). */
    public LabelConfigBuilder teacherOutputs(List<String> names) {
        this.teacherOutputs = names;
        return this;
    }

    /** For a text transfer set: the SHA-256 of the vocabulary the teacher LM was trained with (null: unchecked). */
    public LabelConfigBuilder vocabularySha256(String sha256) {
        this.vocabularySha256 = sha256;
        return this;
    }

    /** The validated config. */
    public LabelConfig build() {
        return new LabelConfig(transfer, partitions,
                new LabelConfig.Teachers(teachers, weights, ensemble, teacherSha256s, teacherOutputs, vocabularySha256),
                temperature, batchSize, new LabelConfig.Stored(precision, topK, soft, hintLayer), out, mode);
    }
}
