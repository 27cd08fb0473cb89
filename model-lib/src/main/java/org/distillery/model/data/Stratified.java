package org.distillery.model.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Seeded, stratified selection of rows by id: the same (seed, ids, labels, n) always selects the same rows, whatever
 * their order or partitioning, because rows are ranked by a hash of (seed, id) within each class.
 */
public final class Stratified {
    private Stratified() {
    }

    /** A well-mixed 64-bit hash of (seed, id) (SplitMix64 finaliser); the rank key of a row. */
    public static long rank(long seed, long id) {
        long z = seed * 0x9E3779B97F4A7C15L + id;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * How many rows of each class to take so that {@code n} rows are split as evenly as the classes allow; a class
     * with fewer rows than its share gives the rest to the others.
     */
    public static long[] quotas(long[] classCounts, long n) {
        long total = Arrays.stream(classCounts).sum();
        if (n < 0 || n > total) {
            throw new IllegalArgumentException("cannot select " + n + " rows out of " + total);
        }
        long[] quota = new long[classCounts.length];
        long left = n;
        while (left > 0) {
            List<Integer> open = new ArrayList<>();
            for (int c = 0; c < classCounts.length; c++) {
                if (quota[c] < classCounts[c]) {
                    open.add(c);
                }
            }
            long share = Math.max(1, left / open.size());
            open.sort(Comparator.naturalOrder());
            for (int c : open) {
                long take = Math.min(Math.min(share, classCounts[c] - quota[c]), left);
                quota[c] += take;
                left -= take;
                if (left == 0) {
                    break;
                }
            }
        }
        return quota;
    }
}
