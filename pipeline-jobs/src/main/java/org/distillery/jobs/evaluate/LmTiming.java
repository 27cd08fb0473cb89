package org.distillery.jobs.evaluate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.distillery.model.nn.LmDecoder;
import org.distillery.model.nn.Sampling;
import org.distillery.model.nn.TokenLogitFunction;
import org.distillery.model.text.CharVocabulary;
import org.distillery.model.text.Windowing;

/**
 * What an LM costs to run and what it writes, measured on the driver, one model at a time:
 * <ul>
 *   <li>{@link #latencyMillis}: one stream, token by token (each step feeds back the greedy token), as interactive
 *   generation runs: a warm-up repetition, then {@value #REPETITIONS} timed repetitions of {@code tokens} steps each
 *   from the primed prompt; the median of their milliseconds per token;</li>
 *   <li>{@link #tokensPerSecond}: batched scoring of the test windows (at most {@value #MAX_WINDOWS}), input positions
 *   per second, the median of {@value #PASSES} timed passes after a warm-up batch;</li>
 *   <li>{@link #samples}: texts drawn with {@link Sampling} from one prompt, sample i seeded with seed + i for every
 *   model, so models are compared on the same draws of the generator.</li>
 * </ul>
 */
final class LmTiming {
    static final int REPETITIONS = 5;
    static final int PASSES = 3;
    static final int MAX_WINDOWS = 1024;

    private LmTiming() {
    }

    /** Per-repetition milliseconds per token (sorted) of {@code tokens} greedy steps after {@code prompt}. */
    static double[] latencyMillis(LmDecoder decoder, int[] prompt, int tokens) {
        greedy(decoder, prompt, tokens); // warm-up: JIT, ND4J workspaces, ONNX Runtime's first run
        double[] ms = new double[REPETITIONS];
        for (int r = 0; r < REPETITIONS; r++) {
            float[] z = decoder.prime(prompt);
            long t0 = System.nanoTime();
            for (int k = 0; k < tokens; k++) {
                z = decoder.step(Sampling.next(z, 0, 1, null));
            }
            ms[r] = (System.nanoTime() - t0) / 1e6 / tokens;
        }
        Arrays.sort(ms);
        return ms;
    }

    static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static void greedy(LmDecoder decoder, int[] prompt, int tokens) {
        float[] z = decoder.prime(prompt);
        for (int k = 0; k < tokens; k++) {
            z = decoder.step(Sampling.next(z, 0, 1, null));
        }
    }

    /** Input positions per second of {@code lm} over {@code windows} in batches of {@code batch} (median pass). */
    static double tokensPerSecond(TokenLogitFunction lm, List<Windowing.Window> windows, int batch) {
        List<int[][]> batches = new ArrayList<>();
        long positions = 0;
        int n = Math.min(windows.size(), MAX_WINDOWS);
        for (int from = 0; from < n; from += batch) {
            int[][] ids = new int[Math.min(batch, n - from)][];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = windows.get(from + i).inputs();
                positions += ids[i].length;
            }
            batches.add(ids);
        }
        lm.logits(batches.get(0));
        double[] seconds = new double[PASSES];
        for (int p = 0; p < PASSES; p++) {
            long t0 = System.nanoTime();
            for (int[][] ids : batches) {
                lm.logits(ids);
            }
            seconds[p] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(seconds);
        return positions / median(seconds);
    }

    /** {@code count} texts of {@code tokens} tokens sampled after {@code prompt}, sample i seeded with seed + i. */
    static List<String> samples(LmDecoder decoder, int[] prompt, EvaluateConfig.Lm settings,
                                CharVocabulary vocabulary) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < settings.samples(); i++) {
            Random rng = new Random(settings.seed() + i);
            float[] z = decoder.prime(prompt);
            int[] ids = new int[settings.sampleTokens()];
            for (int k = 0; k < ids.length; k++) {
                ids[k] = Sampling.next(z, settings.sampleTemperature(), settings.topP(), rng);
                z = decoder.step(ids[k]);
            }
            out.add(vocabulary.decode(ids));
        }
        return out;
    }
}
