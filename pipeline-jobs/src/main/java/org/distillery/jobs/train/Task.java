package org.distillery.jobs.train;

import java.util.Arrays;
import java.util.Locale;

/** What kind of model a train run makes, and so what its transfer set must be. */
public enum Task {
    /** A classifier over feature vectors and class labels (the image and table transfer sets). */
    CLASSIFIER,
    /** A character-level LSTM language model over a text transfer set ({@code ingest --format text}). */
    LM;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Task parse(String s) {
        for (Task t : values()) {
            if (t.id().equals(s) || t.name().equals(s)) {
                return t;
            }
        }
        throw new IllegalArgumentException("task must be one of " + Arrays.stream(values()).map(Task::id).toList()
                + ", got '" + s + "'");
    }
}
