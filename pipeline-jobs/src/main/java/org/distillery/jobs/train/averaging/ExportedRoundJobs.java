package org.distillery.jobs.train.averaging;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.nd4j.linalg.dataset.DataSet;

/**
 * {@code --approach export}: the minibatches written to files once per set ({@link MinibatchExport}), and each round
 * one Spark job fitting from its files' paths (DL4J's {@code fitPaths}, run by {@link RoundMaster}), rather than DL4J's
 * own export, which would write them again every round. The files are this training's alone: {@link #close} deletes
 * them.
 */
final class ExportedRoundJobs implements RoundRunner {
    private final SparkDl4jMultiLayer spark;
    private final TrainerSettings settings;
    private final String exportDir;
    private JavaRDD<DataSet> exportedFrom;
    private List<List<String>> exported; // paths by round

    ExportedRoundJobs(SparkDl4jMultiLayer spark, TrainerSettings settings, String exportDir) {
        this.spark = spark;
        this.settings = settings;
        this.exportDir = exportDir;
    }

    @Override
    public void prepare(JavaRDD<DataSet> minibatches) {
        if (exportedFrom != minibatches) {
            close();
            exported = MinibatchExport.export(spark.getSparkContext(), minibatches, exportDir, settings);
            exportedFrom = minibatches;
        }
    }

    @Override
    public double[] fitEpoch(JavaRDD<DataSet> minibatches, List<Integer> rounds, int epoch) {
        JavaSparkContext sc = spark.getSparkContext();
        return RoundJobs.eachRound(spark, rounds,
                round -> spark.fitPaths(sc.parallelize(exported.get(round), settings.workers())));
    }

    @Override
    public void close() {
        if (exported != null) {
            exported.stream().flatMap(List::stream).findFirst().ifPresent(this::deleteParent);
        }
        exported = null;
        exportedFrom = null;
    }

    private void deleteParent(String file) {
        Path dir = new Path(file).getParent();
        try {
            dir.getFileSystem(spark.getSparkContext().hadoopConfiguration()).delete(dir, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete exported minibatches " + dir, e);
        }
    }
}
