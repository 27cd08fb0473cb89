package org.distillery.jobs.common;

import java.util.Arrays;
import java.util.Locale;

/** What a job does when its output is already published. */
public enum PublishMode {
    /** Refuse to run (the default): a published output is immutable. */
    FAIL_IF_EXISTS,
    /** Build the new output beside the old one and swap them only once the new one is complete. */
    OVERWRITE,
    /**
     * As overwrite, but a job may reuse the parts of the previous output whose inputs did not change (the label job
     * relabels only new or changed rows); without a previous output it is a full run.
     */
    INCREMENTAL;

    /** Whether a published output may be replaced. */
    public boolean replaces() {
        return this != FAIL_IF_EXISTS;
    }

    /**
     * This mode for a job that replaces its output whole: null becomes fail-if-exists, incremental is refused.
     *
     * @throws IllegalArgumentException for incremental, naming {@code job}
     */
    public static PublishMode wholeOutput(PublishMode mode, String job) {
        if (mode == INCREMENTAL) {
            throw new IllegalArgumentException("--mode incremental applies to label only; " + job
                    + " takes fail-if-exists or overwrite");
        }
        return mode == null ? FAIL_IF_EXISTS : mode;
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static PublishMode parse(String s) {
        for (PublishMode m : values()) {
            if (m.id().equals(s)) {
                return m;
            }
        }
        throw new IllegalArgumentException("mode must be one of "
                + Arrays.stream(values()).map(PublishMode::id).toList() + ", got '" + s + "'");
    }
}
