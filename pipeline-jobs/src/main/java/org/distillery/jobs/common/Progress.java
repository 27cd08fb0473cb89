package org.distillery.jobs.common;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs a job's progress while it runs: partitions done out of the running stage's total, rows written and rows per
 * second, at most every {@code everySeconds}. Attach with try-with-resources around the work it should watch.
 */
public final class Progress extends SparkListener implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Progress.class);
    private final SparkContext sc;
    private final String what;
    private final long everyNanos;
    private final long start = System.nanoTime();
    private final AtomicInteger stageTasks = new AtomicInteger();
    private final AtomicInteger done = new AtomicInteger();
    private final AtomicLong rows = new AtomicLong();
    private final AtomicLong lastLog = new AtomicLong(System.nanoTime());

    private Progress(SparkContext sc, String what, double everySeconds) {
        this.sc = sc;
        this.what = what;
        this.everyNanos = (long) (everySeconds * 1e9);
    }

    public static Progress watch(SparkContext sc, String what, double everySeconds) {
        Progress p = new Progress(sc, what, everySeconds);
        sc.addSparkListener(p);
        return p;
    }

    @Override
    public void onStageSubmitted(SparkListenerStageSubmitted stage) {
        stageTasks.set(stage.stageInfo().numTasks());
        done.set(0);
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd task) {
        done.incrementAndGet();
        if (task.taskMetrics() != null) {
            rows.addAndGet(task.taskMetrics().outputMetrics().recordsWritten());
        }
        long now = System.nanoTime();
        long last = lastLog.get();
        if (now - last >= everyNanos && lastLog.compareAndSet(last, now)) {
            double seconds = (now - start) / 1e9;
            LOG.info("{}: {}/{} partitions of the current stage done, {} rows written, {} rows/s", what, done.get(),
                    stageTasks.get(), rows.get(), Math.round(rows.get() / seconds));
        }
    }

    @Override
    public void close() {
        sc.removeSparkListener(this);
    }
}
