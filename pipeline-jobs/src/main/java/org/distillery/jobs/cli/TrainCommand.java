package org.distillery.jobs.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.train.FeatureTerms;
import org.distillery.jobs.train.Objective;
import org.distillery.jobs.train.Task;
import org.distillery.jobs.train.TrainConfig;
import org.distillery.jobs.train.TrainJob;
import org.distillery.jobs.train.averaging.EngineConfig;
import org.distillery.model.loss.Divergence;
import org.distillery.model.loss.Relation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model with Spark parameter averaging: a KD student (kd), a hard-label model (hard: the"
                + " baseline or the teacher) or a pseudo-label student (pseudo_label), or K students that learn from each other and no teacher (mutual); with --task lm, a character-level"
                + " LSTM language model on a text transfer set (objective hard) or on token soft targets (kd).")
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--task", defaultValue = TrainConfig.DEFAULT_TASK, paramLabel = "classifier|lm",
            description = "classifier (feature vectors and class labels) or lm (a character-level LSTM language model on"
                    + " a text transfer set from ingest --format text: --objective hard, or kd with --soft-targets, token"
                    + " soft targets of a teacher LM, one -T and one --alpha) (default: ${DEFAULT-VALUE}).")
    String task;
    @Option(names = "--embedding", defaultValue = "" + TrainConfig.DEFAULT_LM_EMBEDDING, paramLabel = "E",
            description = "--task lm: width of the token embedding (default: ${DEFAULT-VALUE}).")
    int embedding;
    @Option(names = "--hidden", defaultValue = "" + TrainConfig.DEFAULT_LM_HIDDEN, paramLabel = "H",
            description = "--task lm: width of each LSTM layer (default: ${DEFAULT-VALUE}).")
    int hidden;
    @Option(names = "--layers", defaultValue = "" + TrainConfig.DEFAULT_LM_LAYERS, paramLabel = "L",
            description = "--task lm: number of LSTM layers (default: ${DEFAULT-VALUE}).")
    int layers;
    @Option(names = "--objective", defaultValue = TrainConfig.DEFAULT_OBJECTIVE,
            description = "kd | hard | pseudo_label | mutual (default: ${DEFAULT-VALUE}).")
    String objective;
    @Option(names = "--soft-targets", paramLabel = "DIR", description = "Published soft targets (kd, pseudo_label; --task lm: token soft targets).")
    String softTargets;
    @Option(names = "--transfer", paramLabel = "DIR",
            description = "Published transfer set (default: the one the soft targets were labelled from).")
    String transfer;
    @Option(names = "--validation", paramLabel = "DIR",
            description = "Published validation set: picks the best epoch and (T, alpha).")
    String validation;
    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output directory (must not exist, unless --mode overwrite).")
    String out;
    @Option(names = "--arch", defaultValue = TrainConfig.DEFAULT_ARCHITECTURE,
            description = "Network shape; objective mutual: one for every peer or one per peer, comma-separated"
                    + " (mlp:64,mlp:32) (default: ${DEFAULT-VALUE}).")
    String arch;
    @Option(names = "--peers", defaultValue = "" + TrainConfig.DEFAULT_PEERS, paramLabel = "K",
            description = "Objective mutual: students trained together, each pulled towards the mean of the others'"
                    + " softened predictions (T^2 KL, weight --alpha, default " + TrainConfig.DEFAULT_MUTUAL_ALPHA
                    + ") and to hard labels where a row has one (weight 1 - alpha); -T defaults to "
                    + TrainConfig.DEFAULT_MUTUAL_TEMPERATURE + " (default: ${DEFAULT-VALUE}).")
    int peers;
    @Option(names = "--dropout", defaultValue = "" + TrainConfig.DEFAULT_DROPOUT,
            description = "Dropout rate of hidden activations (default: ${DEFAULT-VALUE}).")
    double dropout;
    @Option(names = "--epochs", defaultValue = "" + TrainConfig.DEFAULT_EPOCHS,
            description = "Maximum epochs (default: ${DEFAULT-VALUE}).")
    int epochs;
    @Option(names = "--patience", defaultValue = "" + TrainConfig.DEFAULT_PATIENCE,
            description = "Stop after this many epochs without a validation gain (default: ${DEFAULT-VALUE}).")
    int patience;
    @Option(names = "--learning-rate", defaultValue = "" + TrainConfig.DEFAULT_LEARNING_RATE,
            description = "Adam learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;
    @Option(names = {"-T", "--temperature"}, split = ",", paramLabel = "T",
            description = "Temperature(s) to try, comma-separated (default: the label manifest's).")
    List<Double> temperatures;
    @Option(names = "--alpha", split = ",", paramLabel = "A",
            description = "Soft-term weight(s) to try, comma-separated (default: 1 for kd).")
    List<Double> alphas;
    @Option(names = "--divergence", defaultValue = TrainConfig.DEFAULT_DIVERGENCE,
            description = "Soft term of kd: forward (KL(teacher || student), Hinton et al.), reverse (KL(student ||"
                    + " teacher), mode-seeking) or js (Jensen-Shannon) (default: ${DEFAULT-VALUE}).")
    String divergence;
    @Option(names = "--hint-weight", defaultValue = "0", paramLabel = "BETA",
            description = "Weight of FitNets hints: the mean squared error between a regressor on the student's guided"
                    + " layer and the teacher layer stored by label --hint-layer (default: ${DEFAULT-VALUE}, none).")
    double hintWeight;
    @Option(names = "--hint-schedule", defaultValue = FeatureTerms.TWO_STAGE, paramLabel = "two-stage|joint",
            description = "two-stage (FitNets: fit the layers up to the guided one to the hint first, then distil) or"
                    + " joint (the hint term added to the KD loss throughout; guides the last hidden layer)"
                    + " (default: ${DEFAULT-VALUE}).")
    String hintSchedule;
    @Option(names = "--guided-layer", paramLabel = "I",
            description = "The student's guided dense hidden layer, 0-based (default: its last).")
    Integer guidedLayer;
    @Option(names = "--hint-epochs", defaultValue = "5",
            description = "Epochs of the hint stage of two-stage (default: ${DEFAULT-VALUE}).")
    int hintEpochs;
    @Option(names = "--relation", defaultValue = "none", paramLabel = "none|rkd-distance|rkd-angle|rkd|sp",
            description = "Relation-based KD between the rows of each minibatch, student logits vs the stored teacher"
                    + " layer: RKD distance, angle or both (Park et al. 2019), or similarity-preserving (Tung and"
                    + " Mori 2019) (default: ${DEFAULT-VALUE}).")
    String relation;
    @Option(names = "--relation-weight", defaultValue = "1", paramLabel = "LAMBDA",
            description = "Weight of the relation term (default: ${DEFAULT-VALUE}).")
    double relationWeight;
    @Option(names = "--retemper", arity = "0..1", fallbackValue = "true", description = "Allow temperatures other than the label manifest's.")
    boolean retemper;
    @Option(names = "--labelled", paramLabel = "N",
            description = "Keep hard labels for only N transfer rows, stratified and seeded (default: all).")
    Integer labelled;
    @Option(names = "--windows", paramLabel = "N",
            description = "--task lm: train on only N windows, the first of a seeded order of their ids, so that hard"
                    + " and kd runs with one --seed see the same text (default: all).")
    Integer windows;
    @Option(names = "--batch-size", defaultValue = "" + TrainConfig.DEFAULT_BATCH_SIZE,
            description = "Minibatch size per worker (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--lr-schedule", defaultValue = TrainConfig.DEFAULT_LR_SCHEDULE,
            description = "Learning rate by epoch: constant, step:N:G (times G every N epochs), exp:G or cosine"
                    + " (default: ${DEFAULT-VALUE}).")
    String lrSchedule;
    @Option(names = "--checkpoint-dir", paramLabel = "DIR",
            description = "Save a checkpoint after every epoch here (any Hadoop filesystem path).")
    String checkpointDir;
    @Option(names = "--resume", arity = "0..1", fallbackValue = "true",
            description = "Continue from the latest checkpoint in --checkpoint-dir; starts fresh when there is none, so"
                    + " a first try and its retries can share one command line.")
    boolean resume;
    @Option(names = "--prefetch", defaultValue = "0",
            description = "Minibatches each worker prefetches asynchronously (default: ${DEFAULT-VALUE}).")
    int prefetch;
    @Option(names = "--approach", defaultValue = "direct",
            description = "direct (minibatches cached by Spark) or export (written once per trial to --export-dir, each epoch"
                    + " fits from the files) (default: ${DEFAULT-VALUE}).")
    String approach;
    @Option(names = "--export-dir", paramLabel = "DIR", description = "Where --approach export writes minibatches.")
    String exportDir;
    @Option(names = "--repartition", defaultValue = "num-partitions-workers-differs",
            description = "DL4J repartition rule: never, always, num-partitions-workers-differs (default: ${DEFAULT-VALUE}).")
    String repartition;
    @Option(names = "--repartition-strategy", defaultValue = "balanced",
            description = "balanced or spark-default (default: ${DEFAULT-VALUE}).")
    String repartitionStrategy;
    @Option(names = "--aggregation-depth", defaultValue = "2",
            description = "Tree depth of parameter aggregation (default: ${DEFAULT-VALUE}).")
    int aggregationDepth;
    @Option(names = "--storage-level", paramLabel = "LEVEL",
            description = "Spark storage level of the cached minibatches (default: " + EngineConfig.DEFAULT_STORAGE_LEVEL
                    + "; with --task lm " + EngineConfig.DEFAULT_LM_STORAGE_LEVEL + ": an LM's one-hot targets are"
                    + " too big to keep serialised on the heap).")
    String storageLevel;
    @Option(names = "--training-stats", arity = "0..1", fallbackValue = "true",
            description = "Collect DL4J's training stats and publish them as training-stats.html beside the model.")
    boolean trainingStats;
    @Option(names = "--worker-step", defaultValue = "dense",
            description = "How workers take a minibatch step: dense (a fast path for students of dense layers, DL4J's fit"
                    + " for others) or fit (always DL4J's fit); the same maths either way (default: ${DEFAULT-VALUE}).")
    String workerStep;
    @Option(names = "--rounds", defaultValue = "exchange", paramLabel = "exchange|jobs",
            description = "How averaging rounds run: exchange (epochs of rounds in one Spark job in barrier mode until"
                    + " another Spark job needs its task slots, the workers averaging through a TCP exchange on the"
                    + " driver, port spark.distillery.exchange.port;"
                    + " needs a task slot per worker and the direct approach; where it cannot run, the log says why,"
                    + " and then, or if it fails, jobs) or jobs (one Spark job per round); the same network either way"
                    + " (default: ${DEFAULT-VALUE}).")
    String rounds;
    @Mixin
    OutputMode mode;
    @Mixin
    EngineOptions engine;
    @Mixin
    SparkOptions spark;
    @Mixin
    RunOptions run;

    @Override
    public Integer call() {
        TrainConfig config = TrainConfig.builder(Objective.parse(objective)).softTargets(softTargets)
                .transfer(transfer).validation(validation).labelled(labelled).windows(windows).out(out).mode(mode.parsed())
                .student(arch, dropout).epochs(epochs).patience(patience).learningRate(learningRate)
                .lrSchedule(lrSchedule).divergence(Divergence.parse(divergence)).temperatures(temperatures)
                .alphas(alphas).retemper(retemper).features(new FeatureTerms(hintWeight, hintSchedule, guidedLayer,
                        hintEpochs, Relation.parse(relation), relationWeight))
                .seed(engine.seed).workers(engine.workers).batchSize(batchSize)
                .averagingFrequency(engine.averagingFrequency).engine(new EngineConfig(prefetch, approach, exportDir,
                        repartition, repartitionStrategy, aggregationDepth, storageLevel != null ? storageLevel
                        : Task.parse(task) == Task.LM ? EngineConfig.DEFAULT_LM_STORAGE_LEVEL
                        : EngineConfig.DEFAULT_STORAGE_LEVEL, trainingStats, workerStep,
                        rounds))
                .checkpointDir(checkpointDir).resume(resume).task(Task.parse(task)).lm(embedding, hidden, layers).peers(peers)
                .build();
        return run.dryRunOrRun(() -> TrainJob.dryRun(Storage.standalone(), config),
                () -> new TrainJob(spark.session("train")).run(config).summaryJson());
    }
}
