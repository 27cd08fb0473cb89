package org.distillery.jobs.train;

import java.util.List;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.train.averaging.EngineConfig;
import org.distillery.model.loss.Divergence;

/**
 * Builds a {@link TrainConfig} by name: every value starts at its default ({@code TrainConfig.DEFAULT_*}, a constant
 * learning rate, the default engine, no checkpoints, no feature terms) and {@link #build} validates the whole.
 */
public final class TrainConfigBuilder {
    private final Objective objective;
    private String softTargets;
    private String transfer;
    private String validation;
    private Integer labelled;
    private Integer windows;
    private String out;
    private PublishMode mode = PublishMode.FAIL_IF_EXISTS;
    private long seed = TrainConfig.DEFAULT_SEED;
    private String architecture = TrainConfig.DEFAULT_ARCHITECTURE;
    private double dropout = TrainConfig.DEFAULT_DROPOUT;
    private int epochs = TrainConfig.DEFAULT_EPOCHS;
    private int patience = TrainConfig.DEFAULT_PATIENCE;
    private double learningRate = TrainConfig.DEFAULT_LEARNING_RATE;
    private String lrSchedule = TrainConfig.DEFAULT_LR_SCHEDULE;
    private Divergence divergence = Divergence.parse(TrainConfig.DEFAULT_DIVERGENCE);
    private List<Double> temperatures = List.of();
    private List<Double> alphas = List.of();
    private boolean retemper;
    private FeatureTerms features;
    private int workers = TrainConfig.DEFAULT_WORKERS;
    private int batchSize = TrainConfig.DEFAULT_BATCH_SIZE;
    private int averagingFrequency = TrainConfig.DEFAULT_AVERAGING_FREQUENCY;
    private EngineConfig engine = EngineConfig.DEFAULT;
    private String checkpointDir;
    private boolean resume;
    private Task task = Task.parse(TrainConfig.DEFAULT_TASK);
    private int lmEmbedding = TrainConfig.DEFAULT_LM_EMBEDDING;
    private int lmHidden = TrainConfig.DEFAULT_LM_HIDDEN;
    private int lmLayers = TrainConfig.DEFAULT_LM_LAYERS;
    private int peers = TrainConfig.DEFAULT_PEERS;

    TrainConfigBuilder(Objective objective) {
        this.objective = objective;
    }

    TrainConfigBuilder(TrainConfig c) {
        this(c.objective());
        data(c.data()).out(c.out()).mode(c.mode()).seed(c.seed());
        student(c.student().architecture(), c.student().dropout());
        TrainConfig.Schedule s = c.schedule();
        epochs(s.epochs()).patience(s.patience()).learningRate(s.learningRate()).lrSchedule(s.lrSchedule());
        TrainConfig.Loss l = c.loss();
        divergence(l.divergence()).temperatures(l.temperatures()).alphas(l.alphas()).retemper(l.retemper())
                .features(l.features());
        TrainConfig.Averaging a = c.averaging();
        workers(a.workers()).batchSize(a.batchSize()).averagingFrequency(a.averagingFrequency()).engine(a.engine());
        checkpointDir(c.checkpointing().dir()).resume(c.checkpointing().resume());
        task(c.task()).peers(c.peers());
        if (c.lm() != null) {
            lm(c.lm().embedding(), c.lm().hidden(), c.lm().layers());
        }
    }

    public TrainConfigBuilder softTargets(String path) {
        this.softTargets = path;
        return this;
    }

    public TrainConfigBuilder transfer(String path) {
        this.transfer = path;
        return this;
    }

    public TrainConfigBuilder validation(String path) {
        this.validation = path;
        return this;
    }

    /** Keep hard labels for only {@code rows} transfer rows (null: all). */
    public TrainConfigBuilder labelled(Integer rows) {
        this.labelled = rows;
        return this;
    }

    /** Task lm: train on only {@code count} windows, the first of the seeded order (null: all). */
    public TrainConfigBuilder windows(Integer count) {
        this.windows = count;
        return this;
    }

    public TrainConfigBuilder out(String path) {
        this.out = path;
        return this;
    }

    public TrainConfigBuilder mode(PublishMode mode) {
        this.mode = mode;
        return this;
    }

    public TrainConfigBuilder seed(long seed) {
        this.seed = seed;
        return this;
    }

    public TrainConfigBuilder architecture(String architecture) {
        this.architecture = architecture;
        return this;
    }

    public TrainConfigBuilder dropout(double dropout) {
        this.dropout = dropout;
        return this;
    }

    /** The network's shape and dropout. */
    public TrainConfigBuilder student(String architecture, double dropout) {
        return architecture(architecture).dropout(dropout);
    }

    public TrainConfigBuilder epochs(int epochs) {
        this.epochs = epochs;
        return this;
    }

    public TrainConfigBuilder patience(int epochs) {
        this.patience = epochs;
        return this;
    }

    public TrainConfigBuilder learningRate(double learningRate) {
        this.learningRate = learningRate;
        return this;
    }

    public TrainConfigBuilder lrSchedule(String schedule) {
        this.lrSchedule = schedule;
        return this;
    }

    public TrainConfigBuilder divergence(Divergence divergence) {
        this.divergence = divergence;
        return this;
    }

    /** Temperatures to try (null or empty: the label manifest's). */
    public TrainConfigBuilder temperatures(List<Double> temperatures) {
        this.temperatures = temperatures;
        return this;
    }

    /** Soft-term weights to try (null or empty: 1 for kd, 0 otherwise). */
    public TrainConfigBuilder alphas(List<Double> alphas) {
        this.alphas = alphas;
        return this;
    }

    public TrainConfigBuilder retemper(boolean retemper) {
        this.retemper = retemper;
        return this;
    }

    public TrainConfigBuilder features(FeatureTerms features) {
        this.features = features;
        return this;
    }

    public TrainConfigBuilder workers(int workers) {
        this.workers = workers;
        return this;
    }

    public TrainConfigBuilder batchSize(int batchSize) {
        this.batchSize = batchSize;
        return this;
    }

    public TrainConfigBuilder averagingFrequency(int minibatches) {
        this.averagingFrequency = minibatches;
        return this;
    }

    public TrainConfigBuilder engine(EngineConfig engine) {
        this.engine = engine;
        return this;
    }

    public TrainConfigBuilder checkpointDir(String dir) {
        this.checkpointDir = dir;
        return this;
    }

    public TrainConfigBuilder resume(boolean resume) {
        this.resume = resume;
        return this;
    }

    /** A classifier (the default) or a language model over a text transfer set. */
    public TrainConfigBuilder task(Task task) {
        this.task = task;
        return this;
    }

    /** The LSTM LM's embedding width, LSTM layer width and number of LSTM layers (task lm). */
    public TrainConfigBuilder lm(int embedding, int hidden, int layers) {
        this.lmEmbedding = embedding;
        this.lmHidden = hidden;
        this.lmLayers = layers;
        return this;
    }

    /** Objective mutual: how many students learn together. */
    public TrainConfigBuilder peers(int peers) {
        this.peers = peers;
        return this;
    }

    /** The validated config. */
    public TrainConfig build() {
        return new TrainConfig(objective, out, mode, seed,
                new TrainConfig.Data(softTargets, transfer, validation, labelled, windows),
                new TrainConfig.Student(architecture, dropout),
                new TrainConfig.Schedule(epochs, patience, learningRate, lrSchedule),
                new TrainConfig.Loss(divergence, temperatures, alphas, retemper, features),
                new TrainConfig.Averaging(workers, batchSize, averagingFrequency, engine),
                new TrainConfig.Checkpointing(checkpointDir, resume), task,
                task == Task.LM ? new TrainConfig.Lm(lmEmbedding, lmHidden, lmLayers) : null, peers);
    }

    private TrainConfigBuilder data(TrainConfig.Data d) {
        return softTargets(d.softTargets()).transfer(d.transfer()).validation(d.validation()).labelled(d.labelled())
                .windows(d.windows());
    }
}
