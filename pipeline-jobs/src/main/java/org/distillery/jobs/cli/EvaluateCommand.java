package org.distillery.jobs.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.distillery.jobs.evaluate.EvaluateConfig;
import org.distillery.jobs.evaluate.EvaluateJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = "Score the teacher and models on the test split; write report.json and print a table.")
final class EvaluateCommand implements Callable<Integer> {
    @Option(names = "--test", required = true, paramLabel = "DIR", description = "Published test split.")
    String test;
    @Option(names = "--teacher", required = true, paramLabel = "PATH", description = "Published teacher or DL4J zip.")
    String teacher;
    @Option(names = "--model", paramLabel = "NAME=DIR", description = "A model to score (repeatable), e.g. student=runs/x/students/kd.")
    Map<String, String> models = new LinkedHashMap<>();
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (must not exist).")
    String out;
    @Option(names = "--latency-runs", defaultValue = "200", description = "Timed single-example calls per model (default: ${DEFAULT-VALUE}).")
    int latencyRuns;
    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() {
        EvaluateJob.Result r = new EvaluateJob(spark.session("evaluate"))
                .run(new EvaluateConfig(test, teacher, models, out, latencyRuns));
        System.out.print(r.table());
        System.out.println(r.job().summaryJson());
        return 0;
    }
}
