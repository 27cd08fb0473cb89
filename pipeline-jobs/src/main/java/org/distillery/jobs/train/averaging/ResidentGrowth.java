package org.distillery.jobs.train.averaging;

import org.bytedeco.javacpp.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When an epoch-long task ends with a garbage collection. ND4J's arrays live off the Java heap and are freed when
 * their Java objects are collected; a task frees what it made explicitly ({@link ExchangeTask}), and what is left
 * (a task's network and dense-step buffers, DL4J's per-round objects) waits for the collector. The exchange's
 * messages churn the heap, so young collections normally free it within an epoch; should they not, the process's
 * resident memory outside the heap grows epoch after epoch. This guard, one per JVM, measures that memory (resident
 * bytes minus the heap's committed bytes) at each task's end and collects once it has grown by more than
 * {@link #LIMIT} since the last collection (or the first measurement): bounded growth, without a full collection
 * per task when nothing grows.
 */
final class ResidentGrowth {
    private static final Logger LOG = LoggerFactory.getLogger(ResidentGrowth.class);
    /** Growth of the resident memory outside the heap that triggers a collection. */
    static final long LIMIT = 256L << 20;
    private static final ResidentGrowth JVM = new ResidentGrowth(LIMIT);

    private final long limit;
    private long baseline = Long.MIN_VALUE; // outside-heap bytes after the last collection; MIN_VALUE: none yet

    ResidentGrowth(long limit) {
        this.limit = limit;
    }

    /** At a task's end: collects if this JVM's memory outside the heap has grown past the limit. */
    static void afterTask() {
        JVM.check(ResidentGrowth::outsideHeap, System::gc);
    }

    /** Resident bytes of the process not committed to the Java heap (an estimate of off-heap use). */
    static long outsideHeap() {
        return Pointer.physicalBytes() - Runtime.getRuntime().totalMemory();
    }

    /** Measures with {@code measure}; runs {@code collect} and measures again when grown. Returns whether it did. */
    synchronized boolean check(java.util.function.LongSupplier measure, Runnable collect) {
        long now = measure.getAsLong();
        if (baseline == Long.MIN_VALUE) {
            baseline = now;
            return false;
        }
        if (now - baseline <= limit) {
            return false;
        }
        collect.run();
        long after = measure.getAsLong();
        LOG.info("memory outside the Java heap grew by {} MiB since the last collection; collected: {} -> {} MiB",
                (now - baseline) >> 20, now >> 20, after >> 20);
        baseline = after;
        return true;
    }
}
