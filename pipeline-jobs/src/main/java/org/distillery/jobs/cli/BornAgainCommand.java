package org.distillery.jobs.cli;

import java.util.concurrent.Callable;
import org.distillery.jobs.experiments.BornAgainConfig;
import org.distillery.jobs.experiments.BornAgainJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "born-again", mixinStandardHelpOptions = true,
        description = "Self-distillation over generations: each generation's student (by default the teacher's own"
                + " architecture) teaches the next; every generation is scored next to the teacher."
                + " Rerunning reuses the generations already published.")
final class BornAgainCommand implements Callable<Integer> {
    @Mixin
    ExperimentInputs in;
    @Option(names = "--generations", defaultValue = "2", description = "Students in the chain (default: ${DEFAULT-VALUE}).")
    int generations;
    @Option(names = "--arch", description = "Student shape (default: the teacher's own architecture).")
    String arch;
    @Mixin
    SoftTemperature temperature = new SoftTemperature(BornAgainConfig.DEFAULT_TEMPERATURE);
    @Option(names = "--alpha", defaultValue = "1", description = "Soft-term weight (default: ${DEFAULT-VALUE}).")
    double alpha;
    @Option(names = "--labelled", paramLabel = "N", description = "Transfer rows that keep their hard label (default: all).")
    Integer labelled;
    @Option(names = "--epochs", defaultValue = "6", description = "Maximum epochs per generation (default: ${DEFAULT-VALUE}).")
    int epochs;
    @Option(names = "--learning-rate", defaultValue = "0.001", description = "Adam learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;
    @Mixin
    EngineOptions engine;
    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() {
        long start = System.nanoTime();
        BornAgainConfig config = new BornAgainConfig(in.transfer, in.validation, in.test, in.teacher, in.out,
                generations, arch, temperature.value, alpha, labelled, epochs, learningRate, engine.seed,
                engine.workers);
        BornAgainJob.Result r = new BornAgainJob(spark.session("born-again")).run(config);
        System.out.print(r.evaluation().table());
        ExperimentInputs.printSummary("born-again", r.path(), start);
        return 0;
    }
}
