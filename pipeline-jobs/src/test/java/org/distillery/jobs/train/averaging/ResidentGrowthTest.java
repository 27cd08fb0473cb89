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
    void collectsOnlyAfterGrowthPastTheLimitAndMeasuresAgainFromWhatTheCollectionLeft() {
        ResidentGrowth guard = new ResidentGrowth(100 * MIB);
        // measurements in order; a collection takes one extra measurement (what it left)
        ArrayDeque<Long> seen = new ArrayDeque<>(List.of(500 * MIB, 590 * MIB, 600 * MIB, 601 * MIB, 520 * MIB,
                610 * MIB, 621 * MIB, 540 * MIB));
        AtomicInteger collections = new AtomicInteger();
        Runnable collect = collections::incrementAndGet;

        assertThat(guard.check(seen::pop, collect)).as("first measurement: the baseline").isFalse();
        assertThat(guard.check(seen::pop, collect)).as("+90 MiB").isFalse();
        assertThat(guard.check(seen::pop, collect)).as("+100 MiB: not past the limit").isFalse();
        assertThat(guard.check(seen::pop, collect)).as("+101 MiB").isTrue(); // then measures 520: the new baseline
        assertThat(guard.check(seen::pop, collect)).as("+90 MiB from 520").isFalse();
        assertThat(guard.check(seen::pop, collect)).as("+101 MiB from 520").isTrue();
        assertThat(collections).hasValue(2);
        assertThat(seen).isEmpty();
    }

    @Test
    void seesAnArrayOffTheHeap() {
        long before = ResidentGrowth.outsideHeap();
        try (org.nd4j.linalg.api.ndarray.INDArray array = org.nd4j.linalg.factory.Nd4j.create(
                org.nd4j.linalg.api.buffer.DataType.FLOAT, 16L << 20)) {
            array.assign(1); // touched: resident
            assertThat(ResidentGrowth.outsideHeap() - before).as("64 MiB written off the heap")
                    .isGreaterThan(48 * MIB);
        }
    }
}
