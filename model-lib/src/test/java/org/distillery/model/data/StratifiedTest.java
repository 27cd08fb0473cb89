package org.distillery.model.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class StratifiedTest {
    @Test
    void splitsEvenlyAndHandsOverWhatASmallClassCannotTake() {
        assertThat(Stratified.quotas(new long[] {100, 100, 100, 100}, 40)).containsExactly(10, 10, 10, 10);
        assertThat(Stratified.quotas(new long[] {100, 100, 100}, 10)).containsExactly(4, 3, 3);
        assertThat(Stratified.quotas(new long[] {2, 100, 100}, 30)).containsExactly(2, 14, 14);
        assertThat(Stratified.quotas(new long[] {0, 5}, 5)).containsExactly(0, 5);
    }

    @Test
    void refusesMoreRowsThanExist() {
        assertThatThrownBy(() -> Stratified.quotas(new long[] {3, 3}, 7)).hasMessage("cannot select 7 rows out of 6");
    }

    @Test
    void rankDependsOnSeedAndId() {
        assertThat(Stratified.rank(1, 5)).isEqualTo(Stratified.rank(1, 5));
        assertThat(Stratified.rank(1, 5)).isNotEqualTo(Stratified.rank(2, 5));
        assertThat(Stratified.rank(1, 5)).isNotEqualTo(Stratified.rank(1, 6));
    }
}
