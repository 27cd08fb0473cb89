package org.distillery.jobs.train.averaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** When an epoch task's end collects: only once the memory outside the heap has grown past the limit. */
class ResidentGrowthTest {
    private static final long MIB = 1 << 20;

    @Test
    void collectsOnlyAfterGrowthPastTheLimitAndTakesTheNextMeasurementAsTheBaseline() {
        ResidentGrowth guard = new ResidentGrowth(100 * MIB);
        ArrayDeque<Long> seen = new ArrayDeque<>(List.of(500 * MIB, 590 * MIB, 600 * MIB, 601 * MIB, 4000 * MIB,
                4100 * MIB, 4101 * MIB, 300 * MIB, 350 * MIB));
        AtomicInteger collections = new AtomicInteger();
        Runnable collect = collections::incrementAndGet;

        assertThat(guard.check(seen::pop, collect)).as("first measurement: the baseline").isFalse();
        assertThat(guard.check(seen::pop, collect)).as("+90 MiB").isFalse();
        assertThat(guard.check(seen::pop, collect)).as("+100 MiB: not past the limit").isFalse();
        assertThat(guard.check(seen::pop, collect)).as("+101 MiB").isTrue();
        assertThat(guard.check(seen::pop, collect)).as("after a collection: the new baseline").isFalse();
        assertThat(guard.check(seen::pop, collect)).as("+100 MiB from 4000").isFalse();
        assertThat(guard.check(seen::pop, collect)).as("+101 MiB from 4000").isTrue();
        assertThat(guard.check(seen::pop, collect)).as("the new baseline").isFalse();
        assertThat(guard.check(seen::pop, collect)).as("+50 MiB from 300").isFalse();
        assertThat(collections).hasValue(2);
        assertThat(seen).isEmpty();
    }
}
