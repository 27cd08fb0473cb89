package org.distillery.model.text;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How a token stream (a document's, {@link Documents#stream}) is cut into training windows of {@code length} T tokens
 * with a masked burn-in of {@code burnIn} B tokens.
 *
 * <p>A stream s of n + 1 tokens has n next-token targets: target j is s[j + 1], predicted from s[0..j]. Every target
 * is scored (its loss counted) in exactly one window:
 * <ul>
 *   <li>window 0 starts at s[0] and scores its T targets (j = 0..T-1): it has no earlier context to warm up on, its
 *   first positions simply see less of the document;</li>
 *   <li>window k &ge; 1 starts at s[k S], S = T - B (the stride), and scores positions B..T-1 (targets
 *   j = kS + B .. kS + T - 1); its first B positions repeat the end of window k - 1 as burn-in, so the LSTM's state has
 *   seen B tokens of context before the first target it is scored on, and their loss is masked.</li>
 * </ul>
 * Consecutive windows overlap by B tokens. A last window with r &lt; T real positions takes the stream's last token as
 * its input at position r too (that position has no target), and {@link CharVocabulary#BOUNDARY} inputs and targets
 * after it, all masked: a causal model's outputs at the real positions do not depend on them, and the stored form
 * (inputs and the last target, {@code TextTransferSchema#tokens}) keeps the last real target of any stream, one that
 * does not end on a boundary (a truncated generated sample) too. A stream of n targets gives 1 window when n &le; T,
 * else 1 + ceil((n - T) / S).
 *
 * @param length T, tokens per window, &ge; 1
 * @param burnIn B, masked context tokens at the start of every window after a document's first, in [0, T)
 */
public record Windowing(int length, int burnIn) {
    public Windowing {
        if (length < 1) {
            throw new IllegalArgumentException("window length must be >= 1, got " + length);
        }
        if (burnIn < 0 || burnIn >= length) {
            throw new IllegalArgumentException("burn-in must be in [0, " + length + ") (the window length), got "
                    + burnIn);
        }
    }

    /** One window: T input ids, the T next-token targets, and the scored positions [scoredFrom, scoredTo). */
    public record Window(int index, int start, int[] inputs, int[] targets, int scoredFrom, int scoredTo) {
        /** The loss mask, [T]: 1 at the scored positions, 0 at burn-in and padding. */
        public float[] mask() {
            float[] m = new float[inputs.length];
            Arrays.fill(m, scoredFrom, scoredTo, 1f);
            return m;
        }

        /** How many targets this window scores. */
        public int scored() {
            return scoredTo - scoredFrom;
        }
    }

    /** S = T - B: how far each window starts after the previous one. */
    public int stride() {
        return length - burnIn;
    }

    /** How many windows a stream of {@code targets} next-token targets is cut into. */
    public int windows(int targets) {
        if (targets < 1) {
            throw new IllegalArgumentException("a stream needs at least one target (two tokens), got " + targets);
        }
        return targets <= length ? 1 : 1 + (targets - length + stride() - 1) / stride();
    }

    /** The windows of {@code stream} (at least two tokens: a document's is at least three). */
    public List<Window> cut(int[] stream) {
        int targets = stream.length - 1;
        int count = windows(targets);
        List<Window> out = new ArrayList<>(count);
        for (int k = 0; k < count; k++) {
            int start = k * stride();
            int[] inputs = new int[length];
            int[] next = new int[length];
            Arrays.fill(inputs, CharVocabulary.BOUNDARY);
            Arrays.fill(next, CharVocabulary.BOUNDARY);
            int real = Math.min(length, targets - start); // positions whose target exists
            System.arraycopy(stream, start, inputs, 0, Math.min(length, real + 1));
            System.arraycopy(stream, start + 1, next, 0, real);
            out.add(new Window(k, start, inputs, next, k == 0 ? 0 : burnIn, real));
        }
        return out;
    }
}
