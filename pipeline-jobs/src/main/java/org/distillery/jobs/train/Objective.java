package org.distillery.jobs.train;

import java.util.Arrays;
import java.util.Locale;

/** What the student learns from. */
public enum Objective {
    /** Teacher soft targets on every transfer row, mixed with hard labels where a row has one (Hinton et al. 2015). */
    KD,
    /** Hard labels only, on the rows that have one: the baseline, and how the teacher itself is trained. */
    HARD,
    /** The teacher's argmax as a hard label on rows without one, the true label elsewhere (no soft targets). */
    PSEUDO_LABEL,
    /**
     * No teacher: K peers trained together, each from hard labels where a row has one and from the mean of the other
     * peers' softened predictions on every row (deep mutual learning, Zhang et al. 2018).
     */
    MUTUAL;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean needsTeacher() {
        return this == KD || this == PSEUDO_LABEL;
    }

    public static Objective parse(String s) {
        for (Objective o : values()) {
            if (o.id().equals(s) || o.name().equals(s)) {
                return o;
            }
        }
        throw new IllegalArgumentException("objective must be one of " + Arrays.stream(values()).map(Objective::id).toList()
                + ", got '" + s + "'");
    }
}
