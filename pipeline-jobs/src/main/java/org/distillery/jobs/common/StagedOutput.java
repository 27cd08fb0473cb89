package org.distillery.jobs.common;

import java.util.UUID;
import org.apache.hadoop.fs.Path;
import org.distillery.model.schema.Manifest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An output directory written as a transaction: everything goes to a hidden staging directory beside the target, the
 * manifest and {@code _SUCCESS} are written last, and a rename publishes it. A failed or killed run leaves only a
 * staging directory (ignored by readers, removed on failure) and never touches a previously published output.
 *
 * <p>With {@link PublishMode#OVERWRITE} the previous output stays in place, untouched, until the new one is complete;
 * then the old one is moved aside, the new one moved in, and the old one deleted. Between the two renames readers
 * see no output (they refuse it) rather than a mix.
 */
public final class StagedOutput implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StagedOutput.class);
    private final Storage storage;
    private final String target;
    private final String staging;
    private final boolean replace;
    private boolean published;

    private StagedOutput(Storage storage, String target, String staging, boolean replace) {
        this.storage = storage;
        this.target = target;
        this.staging = staging;
        this.replace = replace;
    }

    /**
     * Reserves a staging directory for {@code target} (created by the first write); fails at once when {@code target}
     * already exists.
     */
    public static StagedOutput begin(Storage storage, String target) {
        return begin(storage, target, PublishMode.FAIL_IF_EXISTS);
    }

    /** As {@link #begin(Storage, String)}; with {@link PublishMode#OVERWRITE} an existing target will be replaced. */
    public static StagedOutput begin(Storage storage, String target, PublishMode mode) {
        String qualified = storage.qualify(target);
        boolean replace = mode.replaces();
        check(storage, qualified, mode);
        return new StagedOutput(storage, qualified, sibling(qualified, "staging"), replace);
    }

    private static String sibling(String target, String kind) {
        Path t = new Path(target);
        return new Path(t.getParent(), "." + t.getName() + "." + kind + "-" + UUID.randomUUID()).toString();
    }

    /** The "fail-if-exists" rule, usable before any work starts (e.g. in dry runs and validation). */
    public static void failIfExists(Storage storage, String target) {
        if (storage.exists(target)) {
            throw new IllegalArgumentException("output already exists (refusing to overwrite a published output): "
                    + target);
        }
    }

    /**
     * Checks the output rule of {@code mode} before any work starts: without a replacing mode the target must not
     * exist; with one, an existing target must be a published distillery output (a directory of anything else, a
     * user's home say, is never moved aside and deleted).
     */
    public static void check(Storage storage, String target, PublishMode mode) {
        if (mode == PublishMode.FAIL_IF_EXISTS) {
            failIfExists(storage, target);
        } else if (storage.exists(target) && !storage.exists(target + "/" + Manifest.SUCCESS)) {
            throw new IllegalArgumentException("refusing to replace " + target + ": it is not a published distillery"
                    + " output (no " + Manifest.SUCCESS + "); --mode " + mode.id() + " replaces only those");
        }
    }

    /** Where to write: a path under the staging directory. */
    public String path(String relative) {
        return staging + "/" + relative;
    }

    public String stagingDir() {
        return staging;
    }

    public String target() {
        return target;
    }

    /**
     * Seals the sub-directory {@code relative} of this output as a published output of its own (its manifest, listing
     * its files, and {@code _SUCCESS}), readable at {@code target/relative} once this output is published: one run's
     * several models, each an input in its own right, published together by one rename.
     */
    public Manifest sealWithin(String relative, Manifest unlisted, long rows, long startNanos) {
        String dir = path(relative);
        storage.mkdirs(dir);
        Manifest manifest = unlisted.withFiles(storage.files(dir));
        JobResult result = new JobResult(manifest.job(), target + "/" + relative, manifest.id(), rows,
                (System.nanoTime() - startNanos) / 1e9);
        storage.writeText(dir + "/" + Manifest.FILE_NAME, manifest.toJson());
        storage.writeText(dir + "/" + Manifest.SUCCESS, result.summaryJson() + "\n");
        return manifest;
    }

    /**
     * Writes the manifest, listing every data file written so far with its size ({@link Manifest#files}), and
     * {@code _SUCCESS}, then moves the staging directory into place. {@code _SUCCESS} holds the job's one-line JSON
     * summary (the line the job prints last), so a sensor or an XCom push can read it.
     *
     * @param rows       rows the output holds, for the summary
     * @param startNanos {@link System#nanoTime()} when the job started, for the summary's seconds
     */
    public JobResult publish(Manifest unlisted, long rows, long startNanos) {
        storage.mkdirs(staging);
        Manifest manifest = unlisted.withFiles(storage.files(staging));
        JobResult result = new JobResult(manifest.job(), target, manifest.id(), rows,
                (System.nanoTime() - startNanos) / 1e9);
        storage.writeText(path(Manifest.FILE_NAME), manifest.toJson());
        storage.writeText(path(Manifest.SUCCESS), result.summaryJson() + "\n");
        String previous = null;
        if (replace && storage.exists(target)) {
            check(storage, target, PublishMode.OVERWRITE); // still a published output, as when the run began
            previous = sibling(target, "previous");
            storage.rename(target, previous);
        } else {
            failIfExists(storage, target);
        }
        try {
            storage.renameNoReplace(staging, target);
        } catch (RuntimeException e) {
            if (previous != null) {
                try {
                    storage.renameNoReplace(previous, target);
                } catch (RuntimeException restore) {
                    e.addSuppressed(restore);
                    LOG.error("could not restore the previous output of {}: it is kept at {}", target, previous);
                }
            }
            throw e;
        }
        published = true;
        if (previous != null) {
            storage.delete(previous);
            LOG.info("replaced {} (manifest {})", target, manifest.id());
        } else {
            LOG.info("published {} (manifest {})", target, manifest.id());
        }
        return result;
    }

    /**
     * What publishing to {@code target} under {@code mode} would do, for dry runs: "new", or "replaces ..." with the
     * published manifest's id; fails as the real run would when the output exists and may not be replaced.
     */
    public static String describe(Storage storage, String target, PublishMode mode) {
        check(storage, target, mode);
        if (!storage.exists(target)) {
            return "new";
        }
        String id;
        try {
            id = "manifest " + storage.publishedManifest(target).id();
        } catch (IllegalArgumentException e) {
            id = "an unpublished directory";
        }
        return "replaces " + id + " (mode " + mode.id() + ")";
    }

    /** Removes the staging directory unless it was published. */
    @Override
    public void close() {
        if (!published && deleteAfterTasks(storage, staging)) {
            LOG.warn("discarded unpublished staging output {}", staging);
        }
    }

    /**
     * Deletes {@code dir} once this JVM's Spark context runs no task ({@link #awaitRunningTasks}), and again if a task
     * of the failed job, still closing its file, created it anew within the next half second (the scheduler can count
     * a killed task finished before its thread is). Returns whether there was anything to delete.
     */
    public static boolean deleteAfterTasks(Storage storage, String dir) {
        awaitRunningTasks();
        boolean deleted = false;
        for (int look = 0; look < 6; look++) {
            if (storage.exists(dir)) {
                storage.delete(dir);
                deleted = true;
            }
            if (look < 5) {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        return deleted;
    }

    /**
     * When a Spark job fails, its failure reaches the driver while Spark is still killing the job's other tasks, and a
     * task finishing its file after the staging directory was deleted would create it again. So wait, at most a
     * minute, until this JVM's Spark context runs no task before deleting.
     */
    static void awaitRunningTasks() {
        scala.Option<org.apache.spark.SparkContext> active = org.apache.spark.SparkContext$.MODULE$.getActive();
        if (active.isEmpty()) {
            return;
        }
        org.apache.spark.SparkStatusTracker tracker = active.get().statusTracker();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline && (tracker.getActiveStageIds().length > 0
                || java.util.Arrays.stream(tracker.getExecutorInfos()).anyMatch(e -> e.numRunningTasks() > 0))) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
