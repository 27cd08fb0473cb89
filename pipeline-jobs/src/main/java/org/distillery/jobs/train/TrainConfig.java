package org.distillery.jobs.train;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.List;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.train.averaging.EngineConfig;
import org.distillery.jobs.train.averaging.TrainerSettings;
import org.distillery.model.loss.Divergence;
import org.distillery.model.nn.Architecture;
import org.distillery.model.nn.LstmArchitecture;

/**
 * Validated configuration of the train job, grouped by concern. Build it by name with {@link #builder}; the defaults
 * below are the only place the train defaults are declared (the CLI's options refer to them).
 *
 * <p>Manifests record it, reruns compare it and checkpoint run hashes are taken of it as the flat JSON object it has
 * always serialised to ({@link TrainConfigJson}), so outputs published before the grouping are still recognised.
 *
 * @param objective     kd, hard, pseudo_label or mutual
 * @param out           output directory for the model
 * @param mode          what to do when {@code out} is already published
 * @param seed          seed of initialisation, labelled selection and data splits
 * @param data          what the model learns from
 * @param student       the network trained
 * @param schedule      how long and how fast it trains
 * @param loss          the soft term of kd and the (T, alpha) grid tried
 * @param averaging     the parameter-averaging trainer's settings
 * @param checkpointing where epochs are checkpointed and whether a run resumes
 * @param task          a classifier (the default) or a language model over a text transfer set
 * @param lm            the LSTM LM's shape for {@code task} lm; null for a classifier
 * @param peers         objective mutual: how many students learn together (other objectives train one)
 */
public record TrainConfig(Objective objective, String out, PublishMode mode, long seed, Data data, Student student,
                          Schedule schedule, Loss loss, Averaging averaging, Checkpointing checkpointing, Task task,
                          Lm lm, int peers) {
    public static final String DEFAULT_TASK = "classifier";
    public static final String DEFAULT_OBJECTIVE = "kd";
    public static final String DEFAULT_ARCHITECTURE = "mlp:64";
    public static final double DEFAULT_DROPOUT = 0;
    public static final int DEFAULT_EPOCHS = 30;
    public static final int DEFAULT_PATIENCE = 8;
    public static final double DEFAULT_LEARNING_RATE = 0.001;
    public static final long DEFAULT_SEED = 42;
    public static final int DEFAULT_WORKERS = 2;
    public static final int DEFAULT_BATCH_SIZE = 64;
    public static final int DEFAULT_AVERAGING_FREQUENCY = 10;
    public static final String DEFAULT_LR_SCHEDULE = LearningRates.CONSTANT;
    public static final String DEFAULT_DIVERGENCE = "forward";
    public static final int DEFAULT_LM_EMBEDDING = 32;
    public static final int DEFAULT_LM_HIDDEN = 256;
    public static final int DEFAULT_LM_LAYERS = 2;
    public static final int DEFAULT_PEERS = 2;
    /** Objective mutual's temperature: 1, as in Zhang et al. 2018. */
    public static final double DEFAULT_MUTUAL_TEMPERATURE = 1.0;
    /** Objective mutual's weight of the peers' term: equal weights of it and the hard term, as in Zhang et al. */
    public static final double DEFAULT_MUTUAL_ALPHA = 0.5;
    /** Peers' architectures in one {@code --arch} value: specs separated by commas, each starting with its kind. */
    private static final java.util.regex.Pattern ARCH_LIST = java.util.regex.Pattern.compile(",(?=\\s*(mlp|cnn):)");

    /**
     * What the model learns from.
     *
     * @param softTargets published soft targets (required for kd and pseudo_label)
     * @param transfer    published transfer set (features, labels); defaults to the soft targets' own input
     * @param validation  published validation set, used to pick the epoch and (T, alpha); never the test split
     * @param labelled    keep hard labels for only this many transfer rows (stratified, seeded); null keeps all
     * @param windows     task lm: train on only this many windows, the first of the seeded order of their ids (the
     *                    same windows for hard and kd runs with one seed over one transfer set); null trains on all
     */
    public record Data(String softTargets, String transfer, String validation, Integer labelled, Integer windows) {
    }

    /**
     * The network trained.
     *
     * @param architecture shape, e.g. {@code mlp:64}; objective mutual: one shape for every peer or one per peer,
     *                     comma-separated ({@code mlp:64,mlp:32})
     * @param dropout      dropout rate on hidden activations
     */
    public record Student(String architecture, double dropout) {
    }

    /**
     * How long and how fast the network trains.
     *
     * @param epochs       passes over the training rows (the best epoch on validation is kept)
     * @param patience     stop after this many epochs without a validation gain
     * @param learningRate Adam learning rate
     * @param lrSchedule   learning rate per epoch: constant, step:N:G, exp:G or cosine ({@link LearningRates})
     */
    public record Schedule(int epochs, int patience, double learningRate, String lrSchedule) {
        public Schedule {
            lrSchedule = lrSchedule == null ? LearningRates.CONSTANT : lrSchedule;
        }
    }

    /**
     * The loss: kd's soft term, the (T, alpha) grid tried, and the optional feature terms.
     *
     * @param divergence   the soft term of kd: forward KL (Hinton et al.), reverse KL or Jensen-Shannon
     * @param temperatures temperatures to try (empty: the label manifest's); each != the manifest's needs retemper
     * @param alphas       soft-term weights to try (empty: 1 for kd, 0 otherwise)
     * @param retemper     allow temperatures other than the label manifest's (re-softening its raw logits)
     * @param features     FitNets hints and relation terms of kd against the stored teacher layer; null: none
     */
    public record Loss(Divergence divergence, List<Double> temperatures, List<Double> alphas, boolean retemper,
                       FeatureTerms features) {
        public Loss {
            divergence = divergence == null ? Divergence.FORWARD_KL : divergence;
            temperatures = temperatures == null ? List.of() : List.copyOf(temperatures);
            alphas = alphas == null ? List.of() : List.copyOf(alphas);
            features = features == null || !features.active() ? null : features;
        }
    }

    /**
     * The parameter-averaging trainer's settings.
     *
     * @param workers            parallel training workers
     * @param batchSize          examples per minibatch per worker
     * @param averagingFrequency minibatches per worker between parameter averagings
     * @param engine             the training master's remaining settings
     */
    public record Averaging(int workers, int batchSize, int averagingFrequency, EngineConfig engine) {
        public Averaging {
            engine = engine == null ? EngineConfig.DEFAULT : engine;
        }
    }

    /**
     * Checkpoints of every epoch.
     *
     * @param dir    where each epoch's checkpoint goes (any Hadoop filesystem); null: no checkpoints
     * @param resume continue from the latest checkpoint in {@code dir} (a fresh start if none)
     */
    public record Checkpointing(String dir, boolean resume) {
        public Checkpointing {
            dir = dir == null || dir.isBlank() ? null : dir;
        }
    }

    /**
     * The shape of an LSTM language model ({@link LstmArchitecture}); its vocabulary comes from the transfer set.
     *
     * @param embedding width of the token embedding
     * @param hidden    width of every LSTM layer
     * @param layers    how many LSTM layers
     */
    public record Lm(int embedding, int hidden, int layers) {
        public Lm {
            if (embedding < 1 || hidden < 1 || layers < 1) {
                throw new IllegalArgumentException("an LM needs --embedding, --hidden and --layers >= 1, got "
                        + embedding + ", " + hidden + " and " + layers);
            }
        }

        /** The LSTM architecture of this shape. */
        public LstmArchitecture architecture() {
            return new LstmArchitecture(embedding, java.util.Collections.nCopies(layers, hidden));
        }
    }

    public TrainConfig {
        if (objective == null) {
            throw new IllegalArgumentException("objective must be set");
        }
        task = task == null ? Task.CLASSIFIER : task;
        lm = task == Task.LM ? lm : null;
        if (objective == Objective.MUTUAL) {
            checkMutual(peers, data, loss, checkpointing, task);
        }
        if (task == Task.LM) {
            checkLm(objective, data, loss, lm);
        } else if (data.windows() != null) {
            throw new IllegalArgumentException("--windows applies to --task lm, not " + task.id());
        }
        if (objective.needsTeacher() && blank(data.softTargets())) {
            throw new IllegalArgumentException("objective " + objective.id() + " needs --soft-targets");
        }
        if (blank(data.softTargets()) && blank(data.transfer())) {
            throw new IllegalArgumentException("set --transfer (or --soft-targets, whose transfer set is used)");
        }
        if (blank(out)) {
            throw new IllegalArgumentException("output directory must be set, got '" + out + "'");
        }
        architectures(objective, student, peers);
        checkSchedule(schedule);
        loss = withDefaultAlpha(loss, objective);
        checkGrid(loss, objective, data);
        checkLabelled(data.labelled(), objective);
        mode = PublishMode.wholeOutput(mode, "train");
        checkCheckpointing(checkpointing, out);
        LearningRates.parse(schedule.lrSchedule(), schedule.learningRate(), schedule.epochs());
        checkLossTerms(loss, objective, student);
        settings(averaging, seed);
    }

    /** A builder of a config for {@code objective}, every other value at its default until set. */
    public static TrainConfigBuilder builder(Objective objective) {
        return new TrainConfigBuilder(objective);
    }

    /** A builder holding this config's values, to change some by name. */
    public TrainConfigBuilder toBuilder() {
        return new TrainConfigBuilder(this);
    }

    /** The trainer settings this config asks for. */
    TrainerSettings settings() {
        return settings(averaging, seed);
    }

    /** The flat JSON object manifests and checkpoint run hashes record. */
    @JsonValue
    TrainConfigJson json() {
        return TrainConfigJson.of(this);
    }

    private static TrainerSettings settings(Averaging averaging, long seed) {
        return new TrainerSettings(averaging.workers(), averaging.batchSize(), averaging.averagingFrequency(),
                averaging.engine().prefetch(), seed);
    }

    private static void checkSchedule(Schedule schedule) {
        if (schedule.epochs() < 1) {
            throw new IllegalArgumentException("epochs must be >= 1, got " + schedule.epochs());
        }
        if (schedule.patience() < 1) {
            throw new IllegalArgumentException("patience must be >= 1, got " + schedule.patience());
        }
        double lr = schedule.learningRate();
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("learning rate must be a finite number > 0, got " + lr);
        }
    }

    private static Loss withDefaultAlpha(Loss loss, Objective objective) {
        double alpha = switch (objective) {
            case KD -> 1.0;
            case MUTUAL -> DEFAULT_MUTUAL_ALPHA;
            default -> 0.0;
        };
        List<Double> alphas = loss.alphas().isEmpty() ? List.of(alpha) : loss.alphas();
        List<Double> ts = objective == Objective.MUTUAL && loss.temperatures().isEmpty()
                ? List.of(DEFAULT_MUTUAL_TEMPERATURE) : loss.temperatures();
        return new Loss(loss.divergence(), ts, alphas, loss.retemper(), loss.features());
    }

    /** The architectures trained: one, or for objective mutual one per peer (a single one is every peer's). */
    public List<Architecture> architectures() {
        return architectures(objective, student, peers);
    }

    private static List<Architecture> architectures(Objective objective, Student student, int peers) {
        String spec = student.architecture();
        String[] specs = spec == null ? new String[] {null} : ARCH_LIST.split(spec.trim());
        if (objective != Objective.MUTUAL) {
            if (specs.length > 1) {
                throw new IllegalArgumentException("--arch lists " + specs.length + " architectures, but only objective"
                        + " mutual trains several; got '" + spec + "'");
            }
            return List.of(Architecture.parse(spec, student.dropout()));
        }
        if (specs.length != 1 && specs.length != peers) {
            throw new IllegalArgumentException("--arch lists " + specs.length + " architectures for " + peers
                    + " peers: give one (every peer's) or " + peers + "; got '" + spec + "'");
        }
        List<Architecture> archs = new java.util.ArrayList<>();
        for (int k = 0; k < peers; k++) {
            archs.add(Architecture.parse(specs[specs.length == 1 ? 0 : k].trim(), student.dropout()));
        }
        String reason = org.distillery.model.nn.PeerNetworks.unsupported(archs);
        if (reason != null) {
            throw new IllegalArgumentException(reason + " (--arch '" + spec + "')");
        }
        return archs;
    }

    /**
     * What objective mutual takes: a transfer set without soft targets (the peers teach each other), at least two
     * peers, one temperature and one alpha; a classifier, without the kd-only options or checkpoints.
     */
    private static void checkMutual(int peers, Data data, Loss loss, Checkpointing checkpointing, Task task) {
        if (peers < 2) {
            throw new IllegalArgumentException("objective mutual needs --peers >= 2, got " + peers);
        }
        if (task == Task.LM) {
            throw new IllegalArgumentException("objective mutual trains classifiers, not --task lm");
        }
        if (blank(data.transfer())) {
            throw new IllegalArgumentException("objective mutual needs --transfer");
        }
        if (data.labelled() != null && data.labelled() == 0) {
            throw new IllegalArgumentException("objective mutual needs labelled rows, got --labelled 0");
        }
        if (!blank(data.softTargets())) {
            throw new IllegalArgumentException("--soft-targets does not apply to objective mutual (the peers teach each"
                    + " other; give --transfer), got " + data.softTargets());
        }
        if (loss.temperatures().size() > 1 || loss.alphas().size() > 1) {
            throw new IllegalArgumentException("objective mutual takes one temperature and one alpha, got "
                    + loss.temperatures() + " and " + loss.alphas());
        }
        if (loss.retemper()) {
            throw new IllegalArgumentException("--retemper does not apply to objective mutual (there are no stored"
                    + " logits to re-soften)");
        }
        if (checkpointing.dir() != null) {
            throw new IllegalArgumentException("--checkpoint-dir does not apply to objective mutual, got "
                    + checkpointing.dir());
        }
    }

    private static void checkGrid(Loss loss, Objective objective, Data data) {
        for (double t : loss.temperatures()) {
            if (!(t > 0) || Double.isInfinite(t)) {
                throw new IllegalArgumentException("temperature must be a finite number > 0, got " + t);
            }
        }
        for (double a : loss.alphas()) {
            if (!(a >= 0 && a <= 1)) {
                throw new IllegalArgumentException("alpha must be in [0, 1], got " + a);
            }
        }
        int points = loss.temperatures().size() * loss.alphas().size();
        if (objective != Objective.KD && objective != Objective.MUTUAL
                && (loss.temperatures().size() > 1 || loss.alphas().size() > 1)) {
            throw new IllegalArgumentException("temperature and alpha grids only apply to objective kd, not "
                    + objective.id());
        }
        if (points > 1 && blank(data.validation())) {
            throw new IllegalArgumentException("a temperature/alpha grid needs --validation to choose from, got "
                    + points + " grid points and no validation set");
        }
    }

    private static void checkLabelled(Integer labelled, Objective objective) {
        if (labelled != null && labelled < 0) {
            throw new IllegalArgumentException("labelled rows must be >= 0, got " + labelled);
        }
        if (objective == Objective.HARD && labelled != null && labelled == 0) {
            throw new IllegalArgumentException("objective hard needs labelled rows, got --labelled 0");
        }
    }

    private static void checkCheckpointing(Checkpointing checkpointing, String out) {
        String dir = checkpointing.dir();
        if (checkpointing.resume() && dir == null) {
            throw new IllegalArgumentException("--resume needs --checkpoint-dir");
        }
        if (dir != null && (dir.equals(out) || dir.startsWith(out + "/"))) {
            throw new IllegalArgumentException("checkpoint directory must not be inside the output: " + dir);
        }
    }

    private static void checkLossTerms(Loss loss, Objective objective, Student student) {
        if (objective != Objective.KD && loss.divergence() != Divergence.FORWARD_KL) {
            throw new IllegalArgumentException("divergence " + loss.divergence().id() + " only applies to objective kd,"
                    + " not " + objective.id());
        }
        if (loss.features() != null && objective != Objective.KD) {
            throw new IllegalArgumentException("hint and relation terms only apply to objective kd, not "
                    + objective.id());
        }
        if (loss.features() != null) {
            loss.features().guided(architectures(objective, student, 1).get(0).hidden().size());
        }
    }

    /**
     * What an LM run takes: hard next-token targets from a text transfer set, or (kd) token-level soft targets with
     * one temperature and one alpha; none of the classifier's labelled-row or feature-term options.
     */
    private static void checkLm(Objective objective, Data data, Loss loss, Lm lm) {
        if (lm == null) {
            throw new IllegalArgumentException("task lm needs the LM's shape (--embedding, --hidden, --layers)");
        }
        if (objective == Objective.PSEUDO_LABEL) {
            throw new IllegalArgumentException("task lm trains with --objective hard (next-token cross-entropy) or kd"
                    + " (token soft targets); objective pseudo_label is not supported for language models");
        }
        if (objective == Objective.HARD && (blank(data.transfer()) || !blank(data.softTargets()))) {
            throw new IllegalArgumentException("task lm with objective hard needs --transfer, a text transfer set"
                    + " (ingest --format text), and no --soft-targets");
        }
        if (data.windows() != null && data.windows() < 1) {
            throw new IllegalArgumentException("--windows must be >= 1, got " + data.windows());
        }
        if (data.labelled() != null || loss.features() != null || loss.temperatures().size() > 1
                || loss.alphas().size() > 1) {
            throw new IllegalArgumentException("task lm takes one temperature and one alpha, and no --labelled or hint"
                    + " and relation terms");
        }
        if (objective == Objective.HARD && !loss.temperatures().isEmpty()) {
            throw new IllegalArgumentException("task lm with objective hard takes no temperature");
        }
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
