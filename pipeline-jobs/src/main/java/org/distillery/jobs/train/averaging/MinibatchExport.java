package org.distillery.jobs.train.averaging;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.SerializableConfiguration;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DL4J's "export" approach done once: every minibatch is written by the executor that built it to
 * {@code <exportDir>/<run>/r<round>-p<partition>-b<index>.bin} (DL4J's serialised DataSet, read back by its
 * {@code SerializedDataSetLoader}), and each epoch fits from those paths. Returns the paths grouped by averaging round.
 * The export is per trial (a T x alpha grid exports once per grid point) and is deleted when the trial ends.
 */
public final class MinibatchExport {
    private static final Logger LOG = LoggerFactory.getLogger(MinibatchExport.class);

    private MinibatchExport() {
    }

    /**
     * Writes {@code minibatches} under {@code exportDir} and returns their paths by round (public for the train job's
     * tests, which check how a training's minibatches fall into rounds).
     */
    public static List<List<String>> export(JavaSparkContext sc, JavaRDD<DataSet> minibatches, String exportDir,
                                            TrainerSettings settings) {
        Path base = new Path(exportDir);
        try { // qualified on the driver: executors must not resolve a relative path in their own working directory
            base = base.getFileSystem(sc.hadoopConfiguration()).makeQualified(base);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot reach the filesystem of " + exportDir, e);
        }
        String dir = new Path(base, "minibatches-" + minibatches.id() + "-" + java.util.UUID.randomUUID()).toString();
        Broadcast<SerializableConfiguration> conf = sc.broadcast(new SerializableConfiguration(sc.hadoopConfiguration()));
        int workers = settings.workers();
        List<String> paths = minibatches.mapPartitionsWithIndex((partition, it) -> write(dir, partition, workers, it,
                conf.value().value()), true).collect();
        conf.destroy();
        Map<Integer, List<String>> byRound = new TreeMap<>();
        for (String p : paths) {
            int round = Integer.parseInt(p.substring(p.lastIndexOf("/r") + 2, p.indexOf("-p", p.lastIndexOf("/r"))));
            byRound.computeIfAbsent(round, r -> new ArrayList<>()).add(p);
        }
        List<List<String>> rounds = new ArrayList<>();
        int count = minibatches.getNumPartitions() / workers;
        for (int r = 0; r < count; r++) {
            rounds.add(byRound.getOrDefault(r, List.of()));
        }
        LOG.info("exported {} minibatches in {} rounds to {}", paths.size(), count, dir);
        return rounds;
    }

    private static Iterator<String> write(String dir, int partition, int workers, Iterator<DataSet> batches,
                                          org.apache.hadoop.conf.Configuration conf) {
        List<String> written = new ArrayList<>();
        int i = 0;
        while (batches.hasNext()) {
            Path p = new Path(dir, String.format("r%06d-p%06d-b%04d.bin", partition / workers, partition, i++));
            try {
                FileSystem fs = p.getFileSystem(conf);
                try (OutputStream out = fs.create(p, true)) {
                    batches.next().save(out);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot export minibatch to " + p, e);
            }
            written.add(p.toString());
        }
        return written.iterator();
    }
}
