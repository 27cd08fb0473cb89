package org.distillery.jobs.train;

import java.util.List;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.train.averaging.EngineConfig;
import org.distillery.jobs.train.averaging.TrainerSettings;
import org.distillery.model.loss.Divergence;

/**
 * Validated configuration of the train job.
 *
 * @param objective          kd, hard or pseudo_label
 * @param softTargets        published soft targets (required for kd and pseudo_label)
 * @param transfer           published transfer set (features, labels); defaults to the soft targets' own input
 * @param validation         published validation set, used to pick the epoch and (T, alpha); never the test split
 * @param out                output directory for the model
 * @param architecture       student shape, e.g. {@code mlp:64}
 * @param dropout            dropout rate on hidden activations
 * @param epochs             passes over the training rows (the best epoch on validation is kept)
 * @param patience           stop after this many epochs without a validation gain
 * @param learningRate       Adam learning rate
 * @param temperatures       temperatures to try (empty: the label manifest's); each != the manifest's needs retemper
 * @param alphas             soft-term weights to try
 * @param retemper           allow temperatures other than the label manifest's (re-softening its raw logits)
 * @param labelled           keep hard labels for only this many transfer rows (stratified, seeded); null keeps all
 * @param seed               seed of initialisation, labelled selection and data splits
 * @param workers            parallel training workers
 * @param batchSize          examples per minibatch per worker
 * @param averagingFrequency minibatches per worker between parameter averagings
 * @param mode               what to do when {@code out} is already published
 * @param checkpointDir      where each epoch's checkpoint goes (any Hadoop filesystem); null: no checkpoints
 * @param resume             continue from the latest checkpoint in {@code checkpointDir} (a fresh start if none)
 * @param lrSchedule         learning rate per epoch: constant, step:N:G, exp:G or cosine ({@link LearningRates})
 * @param engine             the training master's remaining settings
 * @param divergence         the soft term of kd: forward KL (Hinton et al.), reverse KL or Jensen-Shannon
 * @param features           FitNets hints and relation terms of kd against the stored teacher layer; null: none
 *                           (left out of the JSON then, so configs without them keep their checkpoint run hashes)
 */
public record TrainConfig(Objective objective, String softTargets, String transfer, String validation, String out,
                          String architecture, double dropout, int epochs, int patience, double learningRate,
                          List<Double> temperatures, List<Double> alphas, boolean retemper, Integer labelled,
                          long seed, int workers, int batchSize, int averagingFrequency, PublishMode mode,
                          String checkpointDir, boolean resume, String lrSchedule, EngineConfig engine,
                          Divergence divergence,
                          @com.fasterxml.jackson.annotation.JsonInclude(
                                  com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
                          FeatureTerms features) {

    /** A run without checkpoints, with a constant learning rate and the default engine settings. */
    public TrainConfig(Objective objective, String softTargets, String transfer, String validation, String out,
                       String architecture, double dropout, int epochs, int patience, double learningRate,
                       List<Double> temperatures, List<Double> alphas, boolean retemper, Integer labelled,
                       long seed, int workers, int batchSize, int averagingFrequency) {
        this(objective, softTargets, transfer, validation, out, architecture, dropout, epochs, patience, learningRate,
                temperatures, alphas, retemper, labelled, seed, workers, batchSize, averagingFrequency,
                PublishMode.FAIL_IF_EXISTS, null, false, LearningRates.CONSTANT, EngineConfig.DEFAULT,
                Divergence.FORWARD_KL, null);
    }

    /** Without hint or relation terms. */
    public TrainConfig(Objective objective, String softTargets, String transfer, String validation, String out,
                       String architecture, double dropout, int epochs, int patience, double learningRate,
                       List<Double> temperatures, List<Double> alphas, boolean retemper, Integer labelled,
                       long seed, int workers, int batchSize, int averagingFrequency, PublishMode mode,
                       String checkpointDir, boolean resume, String lrSchedule, EngineConfig engine,
                       Divergence divergence) {
        this(objective, softTargets, transfer, validation, out, architecture, dropout, epochs, patience, learningRate,
                temperatures, alphas, retemper, labelled, seed, workers, batchSize, averagingFrequency, mode,
                checkpointDir, resume, lrSchedule, engine, divergence, null);
    }

    public TrainConfig {
        if (objective == null) {
            throw new IllegalArgumentException("objective must be set");
        }
        if (objective.needsTeacher() && blank(softTargets)) {
            throw new IllegalArgumentException("objective " + objective.id() + " needs --soft-targets");
        }
        if (blank(softTargets) && blank(transfer)) {
            throw new IllegalArgumentException("set --transfer (or --soft-targets, whose transfer set is used)");
        }
        if (blank(out)) {
            throw new IllegalArgumentException("output directory must be set, got '" + out + "'");
        }
        org.distillery.model.nn.Architecture.parse(architecture, dropout);
        if (epochs < 1) {
            throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        }
        if (patience < 1) {
            throw new IllegalArgumentException("patience must be >= 1, got " + patience);
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be a finite number > 0, got " + learningRate);
        }
        temperatures = temperatures == null ? List.of() : List.copyOf(temperatures);
        alphas = alphas == null || alphas.isEmpty() ? List.of(objective == Objective.KD ? 1.0 : 0.0) : List.copyOf(alphas);
        for (double t : temperatures) {
            if (!(t > 0) || Double.isInfinite(t)) {
                throw new IllegalArgumentException("temperature must be a finite number > 0, got " + t);
            }
        }
        for (double a : alphas) {
            if (!(a >= 0 && a <= 1)) {
                throw new IllegalArgumentException("alpha must be in [0, 1], got " + a);
            }
        }
        if (objective != Objective.KD && (temperatures.size() > 1 || alphas.size() > 1)) {
            throw new IllegalArgumentException("temperature and alpha grids only apply to objective kd, not "
                    + objective.id());
        }
        if (temperatures.size() * alphas.size() > 1 && blank(validation)) {
            throw new IllegalArgumentException("a temperature/alpha grid needs --validation to choose from, got "
                    + temperatures.size() * alphas.size() + " grid points and no validation set");
        }
        if (labelled != null && labelled < 0) {
            throw new IllegalArgumentException("labelled rows must be >= 0, got " + labelled);
        }
        if (objective == Objective.HARD && labelled != null && labelled == 0) {
            throw new IllegalArgumentException("objective hard needs labelled rows, got --labelled 0");
        }
        mode = mode == null ? PublishMode.FAIL_IF_EXISTS : mode;
        if (mode == PublishMode.INCREMENTAL) {
            throw new IllegalArgumentException("--mode incremental applies to label only; train takes fail-if-exists or"
                    + " overwrite");
        }
        checkpointDir = blank(checkpointDir) ? null : checkpointDir;
        if (resume && checkpointDir == null) {
            throw new IllegalArgumentException("--resume needs --checkpoint-dir");
        }
        if (checkpointDir != null && (checkpointDir.equals(out) || checkpointDir.startsWith(out + "/"))) {
            throw new IllegalArgumentException("checkpoint directory must not be inside the output: " + checkpointDir);
        }
        lrSchedule = lrSchedule == null ? LearningRates.CONSTANT : lrSchedule;
        LearningRates.parse(lrSchedule, learningRate, epochs);
        engine = engine == null ? EngineConfig.DEFAULT : engine;
        divergence = divergence == null ? Divergence.FORWARD_KL : divergence;
        if (objective != Objective.KD && divergence != Divergence.FORWARD_KL) {
            throw new IllegalArgumentException("divergence " + divergence.id() + " only applies to objective kd, not "
                    + objective.id());
        }
        features = features == null || !features.active() ? null : features;
        if (features != null && objective != Objective.KD) {
            throw new IllegalArgumentException("hint and relation terms only apply to objective kd, not "
                    + objective.id());
        }
        if (features != null) {
            features.guided(org.distillery.model.nn.Architecture.parse(architecture, dropout).hidden().size());
        }
        new TrainerSettings(workers, batchSize, averagingFrequency, engine.prefetch(), seed);
    }

    /** The trainer settings this config asks for. */
    TrainerSettings settings() {
        return new TrainerSettings(workers, batchSize, averagingFrequency, engine.prefetch(), seed);
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
