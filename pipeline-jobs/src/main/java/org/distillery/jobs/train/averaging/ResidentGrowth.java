package org.distillery.jobs.train.averaging;

import org.bytedeco.javacpp.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When a worker's epoch in an exchange session ends with a garbage collection. ND4J's arrays live off the Java heap and
 * are freed when their Java objects are collected; a worker frees what it made explicitly ({@link ExchangeTask}), and
 * what is left (an epoch's network and dense-step buffers, DL4J's per-round objects) waits for the collector. The
 * exchange's messages churn the heap, so young collections normally free it within an epoch; should they not, the
 * process's resident memory outside the heap grows epoch after epoch. This guard, one per JVM, measures that memory
 * (resident bytes minus the heap's committed bytes) at each worker's epoch end and collects once it has grown by more
 * than {@link #LIMIT} since its baseline: bounded growth, without a full collection per epoch when nothing grows. The
 * baseline is the first measurement, and after a collection the next one: right after a full collection the estimate is
 * off (the collector shrinks the committed heap at once and returns its pages to the system later; a demo run read 4.6
 * GB outside the heap just after one, against 1.1 GB before), and a new training legitimately holds more off the heap
 * (its cached minibatches).
 */
final class ResidentGrowth {
    private static final Logger LOG = LoggerFactory.getLogger(ResidentGrowth.class);
    /** Growth of the resident memory outside the heap that triggers a collection. */
    static final long LIMIT = 256L << 20;
    private static final ResidentGrowth JVM = new ResidentGrowth(LIMIT);

    private final long limit;
    private long baseline = Long.MIN_VALUE; // MIN_VALUE: the next measurement is the baseline

    ResidentGrowth(long limit) {
        this.limit = limit;
    }

    /** At a worker's epoch end: collects if this JVM's memory outside the heap has grown past the limit. */
    static void afterEpoch() {
        JVM.check(ResidentGrowth::outsideHeap, System::gc);
    }

    /** Resident bytes of the process not committed to the Java heap (an estimate of off-heap use). */
    static long outsideHeap() {
        return Pointer.physicalBytes() - Runtime.getRuntime().totalMemory();
    }

    /** Measures with {@code measure} and runs {@code collect} when grown past the limit. Returns whether it did. */
    synchronized boolean check(java.util.function.LongSupplier measure, Runnable collect) {
        long now = measure.getAsLong();
        if (baseline == Long.MIN_VALUE) {
            baseline = now;
            return false;
        }
        if (now - baseline <= limit) {
            return false;
        }
        LOG.info("memory outside the Java heap grew by {} MiB to {} MiB; collecting garbage",
                (now - baseline) >> 20, now >> 20);
        collect.run();
        baseline = Long.MIN_VALUE;
        return true;
    }
}
