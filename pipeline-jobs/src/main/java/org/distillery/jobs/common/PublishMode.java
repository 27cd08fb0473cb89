package org.distillery.jobs.common;

import java.util.Arrays;
import java.util.Locale;

/** What a job does when its output is already published. */
public enum PublishMode {
    /** Refuse to run (the default): a published output is immutable. */
    FAIL_IF_EXISTS,
    /** Build the new output beside the old one and swap them only once the new one is complete. */
    OVERWRITE;

    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static PublishMode parse(String s) {
        for (PublishMode m : values()) {
            if (m.id().equals(s)) {
                return m;
            }
        }
        if ("incremental".equals(s)) {
            throw new IllegalArgumentException("--mode incremental is not implemented yet; use fail-if-exists or overwrite");
        }
        throw new IllegalArgumentException("mode must be one of "
                + Arrays.stream(values()).map(PublishMode::id).toList() + ", got '" + s + "'");
    }
}
