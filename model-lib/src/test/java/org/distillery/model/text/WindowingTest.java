package org.distillery.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class WindowingTest {
    private static final int B = CharVocabulary.BOUNDARY;

    /** Tokens 100, 101, ...: each token says where it is in the stream. */
    private static int[] stream(int tokens) {
        return IntStream.range(100, 100 + tokens).toArray();
    }

    @Test
    void firstWindowScoresEverythingLaterOnesMaskTheirBurnIn() {
        List<Windowing.Window> w = new Windowing(4, 1).cut(stream(11)); // 10 targets, stride 3
        assertThat(w).hasSize(3);
        assertThat(w.get(0).inputs()).containsExactly(100, 101, 102, 103);
        assertThat(w.get(0).targets()).containsExactly(101, 102, 103, 104);
        assertThat(w.get(0).mask()).containsExactly(1f, 1f, 1f, 1f);
        assertThat(w.get(1).start()).isEqualTo(3);
        assertThat(w.get(1).inputs()).containsExactly(103, 104, 105, 106);
        assertThat(w.get(1).targets()).containsExactly(104, 105, 106, 107);
        assertThat(w.get(1).mask()).containsExactly(0f, 1f, 1f, 1f); // 104 was window 0's last target
        assertThat(w.get(2).targets()).containsExactly(107, 108, 109, 110);
        assertThat(w.get(2).mask()).containsExactly(0f, 1f, 1f, 1f);
    }

    @Test
    void theLastWindowIsPaddedWithMaskedBoundaries() {
        List<Windowing.Window> w = new Windowing(4, 1).cut(stream(12)); // 11 targets
        assertThat(w).hasSize(4);
        Windowing.Window last = w.get(3);
        assertThat(last.inputs()).containsExactly(109, 110, 111, B); // 111: the last token, an input without target
        assertThat(last.targets()).containsExactly(110, 111, B, B);
        assertThat(last.mask()).containsExactly(0f, 1f, 0f, 0f);
        assertThat(new Windowing(8, 2).cut(stream(3))).singleElement()
                .satisfies(only -> assertThat(only.mask()).containsExactly(1f, 1f, 0f, 0f, 0f, 0f, 0f, 0f));
    }

    @Test
    void everyTargetIsScoredExactlyOnceAfterItsInputs() {
        Random r = new Random(42);
        for (int trial = 0; trial < 300; trial++) {
            int t = 1 + r.nextInt(12);
            Windowing windowing = new Windowing(t, r.nextInt(t));
            int[] s = stream(2 + r.nextInt(60));
            List<Windowing.Window> windows = windowing.cut(s);
            assertThat(windows).hasSize(windowing.windows(s.length - 1));
            int[] scored = new int[s.length];
            for (Windowing.Window w : windows) {
                assertThat(w.start()).isEqualTo(w.index() * windowing.stride());
                for (int p = 0; p < t && w.start() + p < s.length - 1; p++) {
                    assertThat(w.inputs()[p]).isEqualTo(s[w.start() + p]);
                    assertThat(w.targets()[p]).isEqualTo(s[w.start() + p + 1]);
                }
                for (int p = w.scoredFrom(); p < w.scoredTo(); p++) {
                    scored[w.targets()[p] - 100]++;
                }
            }
            assertThat(scored[0]).as("the first token is never a target").isZero();
            assertThat(IntStream.range(1, s.length).map(i -> scored[i])).as("T=%s %s", t, windowing).containsOnly(1);
        }
    }

    @Test
    void refusesImpossibleShapes() {
        assertThatThrownBy(() -> new Windowing(0, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("window length must be >= 1, got 0");
        assertThatThrownBy(() -> new Windowing(8, 8))
                .hasMessage("burn-in must be in [0, 8) (the window length), got 8");
        assertThatThrownBy(() -> new Windowing(8, -1))
                .hasMessage("burn-in must be in [0, 8) (the window length), got -1");
        assertThatThrownBy(() -> new Windowing(8, 2).cut(new int[] {B}))
                .hasMessage("a stream needs at least one target (two tokens), got 0");
    }
}
