package org.distillery.jobs.augment;

import java.util.List;
import org.distillery.jobs.common.PublishMode;

/**
 * Validated configuration of the augment job.
 *
 * @param transfer      published transfer set to widen
 * @param transforms    the transforms, in order ({@link Augmentation})
 * @param copies        augmented copies written per source row
 * @param keepOriginals whether the source rows are written too (with their labels)
 * @param labelled      widen only the rows {@code train --labelled N --seed seed} keeps labelled; null widens every row
 * @param seed          seed of every copy's random stream (and of the labelled selection)
 * @param maxRows       the most rows the output may have (a guard against a copy count that would flood the lake)
 * @param out           output directory (a transfer set)
 * @param mode          what to do when {@code out} is already published
 */
public record AugmentConfig(String transfer, List<String> transforms, int copies, boolean keepOriginals, Integer labelled,
                            long seed,
                            long maxRows, String out, PublishMode mode) {
    public static final int DEFAULT_COPIES = 4;
    public static final long DEFAULT_SEED = 42;
    public static final long DEFAULT_MAX_ROWS = 100_000_000L;

    public AugmentConfig {
        if (transfer == null || transfer.isBlank() || out == null || out.isBlank()) {
            throw new IllegalArgumentException("--transfer and --out must be set, got transfer='" + transfer
                    + "', out='" + out + "'");
        }
        transforms = transforms == null ? List.of() : List.copyOf(transforms);
        if (copies < 1) {
            throw new IllegalArgumentException("--copies must be >= 1, got " + copies);
        }
        if (labelled != null && labelled < 1) {
            throw new IllegalArgumentException("--labelled must be >= 1, got " + labelled);
        }
        if (maxRows < 1) {
            throw new IllegalArgumentException("--max-rows must be >= 1, got " + maxRows);
        }
        mode = PublishMode.wholeOutput(mode, "augment");
    }

    /** Source rows widened out of a transfer set of {@code rows} rows (at most, with {@code --labelled}). */
    long sourceRows(long rows) {
        return labelled == null ? rows : Math.min(rows, labelled);
    }

    /** Rows the output will have for {@code sourceRows} source rows. */
    long outputRows(long sourceRows) {
        return sourceRows * (copies + (keepOriginals ? 1 : 0));
    }
}
