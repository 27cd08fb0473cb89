package org.distillery.jobs.train.averaging;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Progress inside an epoch, which for a large transfer set or a recurrent network can run for many minutes: after a
 * round is averaged, a line with the rounds done and the training score, at most every {@value #EVERY_SECONDS}
 * seconds (short epochs log nothing here). Used on the driver by both ways of running rounds.
 */
final class RoundProgress {
    private static final Logger LOG = LoggerFactory.getLogger(RoundProgress.class);
    static final long EVERY_SECONDS = 15;
    private final String how;
    private final int rounds;
    private final long start = System.nanoTime();
    private long last = start;

    RoundProgress(String how, int rounds) {
        this.how = how;
        this.rounds = rounds;
    }

    /** Round {@code done} of the epoch (1-based) was averaged, the training score now {@code score}. */
    void averaged(int done, double score) {
        long now = System.nanoTime();
        if (done < rounds && now - last >= EVERY_SECONDS * 1_000_000_000L) {
            last = now;
            LOG.info("{}: {}/{} averaging rounds of the epoch done, training score {} ({} s)", how, done, rounds,
                    String.format("%.4f", score), String.format("%.0f", (now - start) / 1e9));
        }
    }
}
