package org.distillery.jobs.common;

import java.util.UUID;
import org.distillery.model.schema.Manifest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An output directory written as a transaction: everything goes to a hidden staging directory beside the target, the
 * manifest and {@code _SUCCESS} are written last, and one rename publishes it. A failed or killed run leaves only a
 * staging directory (ignored by readers, removed on failure) and never touches a previously published output.
 */
public final class StagedOutput implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StagedOutput.class);
    private final Storage storage;
    private final String target;
    private final String staging;
    private boolean published;

    private StagedOutput(Storage storage, String target, String staging) {
        this.storage = storage;
        this.target = target;
        this.staging = staging;
    }

    /**
     * Reserves a staging directory for {@code target} (created by the first write); fails at once when {@code target}
     * already exists.
     */
    public static StagedOutput begin(Storage storage, String target) {
        String qualified = storage.qualify(target);
        failIfExists(storage, qualified);
        org.apache.hadoop.fs.Path t = new org.apache.hadoop.fs.Path(qualified);
        String staging = new org.apache.hadoop.fs.Path(t.getParent(),
                "." + t.getName() + ".staging-" + UUID.randomUUID()).toString();
        return new StagedOutput(storage, qualified, staging);
    }

    /** The "fail-if-exists" rule, usable before any work starts (e.g. in dry runs and validation). */
    public static void failIfExists(Storage storage, String target) {
        if (storage.exists(target)) {
            throw new IllegalArgumentException("output already exists (refusing to overwrite a published output): "
                    + target);
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

    /** Writes the manifest and {@code _SUCCESS}, then moves the staging directory into place. */
    public void publish(Manifest manifest) {
        storage.mkdirs(staging);
        storage.writeText(path(Manifest.FILE_NAME), manifest.toJson());
        storage.writeText(path(Manifest.SUCCESS), "");
        failIfExists(storage, target);
        storage.rename(staging, target);
        published = true;
        LOG.info("published {} (manifest {})", target, manifest.id());
    }

    /** Removes the staging directory unless it was published. */
    @Override
    public void close() {
        if (!published && storage.exists(staging)) {
            storage.delete(staging);
            LOG.warn("discarded unpublished staging output {}", staging);
        }
    }
}
