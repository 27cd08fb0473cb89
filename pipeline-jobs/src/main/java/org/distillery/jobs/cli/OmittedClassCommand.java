package org.distillery.jobs.cli;

import java.util.concurrent.Callable;
import org.distillery.jobs.experiments.OmittedClassConfig;
import org.distillery.jobs.experiments.OmittedClassJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "omitted-class", mixinStandardHelpOptions = true,
        description = "Hinton et al.'s omitted-class experiment: remove one class from the transfer set, distil a"
                + " student on soft targets only, and compare its accuracy on that class (before and after a bias"
                + " correction fitted on validation) with a student trained on the same hard labels."
                + " Rerunning reuses the stages already published.")
final class OmittedClassCommand implements Callable<Integer> {
    @Mixin
    ExperimentInputs in;
    @Option(names = "--class", required = true, paramLabel = "N", description = "The class to omit.")
    int omitted;
    @Mixin
    SoftTemperature temperature = new SoftTemperature(OmittedClassConfig.DEFAULT_TEMPERATURE);
    @Option(names = "--arch", defaultValue = "mlp:64", description = "Student shape (default: ${DEFAULT-VALUE}).")
    String arch;
    @Option(names = "--epochs", defaultValue = "20", description = "Maximum epochs per student (default: ${DEFAULT-VALUE}).")
    int epochs;
    @Mixin
    EngineOptions engine;
    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() {
        long start = System.nanoTime();
        OmittedClassConfig config = new OmittedClassConfig(in.transfer, in.validation, in.test, in.teacher, in.out,
                omitted, temperature.value, arch, epochs, engine.seed, engine.workers);
        OmittedClassJob.Result r = new OmittedClassJob(spark.session("omitted-class")).run(config);
        System.out.print(r.table());
        ExperimentInputs.printSummary("omitted-class", r.path(), start);
        return 0;
    }
}
