package org.distillery.jobs.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.distillery.jobs.train.Objective;
import org.distillery.jobs.train.TrainConfig;
import org.distillery.jobs.train.TrainJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model with Spark parameter averaging: a KD student (kd), a hard-label model (hard: the"
                + " baseline or the teacher) or a pseudo-label student (pseudo_label).")
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--objective", defaultValue = "kd", description = "kd | hard | pseudo_label (default: ${DEFAULT-VALUE}).")
    String objective;
    @Option(names = "--soft-targets", paramLabel = "DIR", description = "Published soft targets (kd, pseudo_label).")
    String softTargets;
    @Option(names = "--transfer", paramLabel = "DIR",
            description = "Published transfer set (default: the one the soft targets were labelled from).")
    String transfer;
    @Option(names = "--validation", paramLabel = "DIR",
            description = "Published validation set: picks the best epoch and (T, alpha).")
    String validation;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (must not exist).")
    String out;
    @Option(names = "--arch", defaultValue = "mlp:64", description = "Network shape (default: ${DEFAULT-VALUE}).")
    String arch;
    @Option(names = "--dropout", defaultValue = "0", description = "Dropout rate of hidden activations (default: ${DEFAULT-VALUE}).")
    double dropout;
    @Option(names = "--epochs", defaultValue = "30", description = "Maximum epochs (default: ${DEFAULT-VALUE}).")
    int epochs;
    @Option(names = "--patience", defaultValue = "8", description = "Stop after this many epochs without a validation gain (default: ${DEFAULT-VALUE}).")
    int patience;
    @Option(names = "--learning-rate", defaultValue = "0.001", description = "Adam learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;
    @Option(names = {"-T", "--temperature"}, split = ",", paramLabel = "T",
            description = "Temperature(s) to try, comma-separated (default: the label manifest's).")
    List<Double> temperatures;
    @Option(names = "--alpha", split = ",", paramLabel = "A",
            description = "Soft-term weight(s) to try, comma-separated (default: 1 for kd).")
    List<Double> alphas;
    @Option(names = "--retemper", description = "Allow temperatures other than the label manifest's.")
    boolean retemper;
    @Option(names = "--labelled", paramLabel = "N",
            description = "Keep hard labels for only N transfer rows, stratified and seeded (default: all).")
    Integer labelled;
    @Option(names = "--batch-size", defaultValue = "64", description = "Minibatch size per worker (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Mixin
    EngineOptions engine;
    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() {
        TrainConfig config = new TrainConfig(Objective.parse(objective), softTargets, transfer, validation, out, arch,
                dropout, epochs, patience, learningRate, temperatures, alphas, retemper, labelled, engine.seed,
                engine.workers, batchSize, engine.averagingFrequency);
        System.out.println(new TrainJob(spark.session("train")).run(config).summaryJson());
        return 0;
    }
}
