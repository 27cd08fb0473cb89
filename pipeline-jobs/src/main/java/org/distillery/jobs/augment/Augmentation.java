package org.distillery.jobs.augment;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.apache.commons.math3.distribution.BetaDistribution;
import org.apache.commons.math3.random.JDKRandomGenerator;

/**
 * The declared transforms, applied in the order given to a copy of one row's features (stored values, i.e. after
 * ingest's transform), each copy drawing from its own random stream seeded by (seed, source id, copy index), so a rerun
 * writes the same rows whatever the partitioning:
 * <ul>
 *   <li>{@code shift=S}: images only ({@code exampleShape [C, H, W]}); moves the image by a whole number of pixels in
 *       [-S, S] along each axis, filling with 0;</li>
 *   <li>{@code flip}: images only; mirrors left-right with probability 1/2;</li>
 *   <li>{@code noise=SIGMA}: adds N(0, SIGMA^2) to every value;</li>
 *   <li>{@code mixup=ALPHA}: {@code lambda x + (1 - lambda) x'} with lambda ~ Beta(ALPHA, ALPHA) and x' another row
 *       of the transfer set (its partner, drawn from the same bucket of rows).</li>
 * </ul>
 *
 * @param steps the transforms in order
 * @param shape the example shape the transfer manifest records
 */
record Augmentation(List<Step> steps, int[] shape) implements Serializable {

    /** One transform: its name and parameter (0 for flip). */
    record Step(String name, double value) implements Serializable {
        @Override
        public String toString() {
            return name.equals("flip") ? name : name + "=" + (value == Math.rint(value) ? Long.toString((long) value)
                    : Double.toString(value));
        }
    }

    /**
     * Parses {@code shift=2}, {@code flip}, {@code noise=0.05}, {@code mixup=0.2}.
     *
     * @throws IllegalArgumentException naming the transform: unknown, a bad value, an image transform on vectors
     */
    static Augmentation parse(List<String> specs, int[] shape) {
        if (specs.isEmpty()) {
            throw new IllegalArgumentException("--transform must name at least one of shift=S, flip, noise=SIGMA,"
                    + " mixup=ALPHA");
        }
        List<Step> steps = new ArrayList<>();
        for (String spec : specs) {
            String[] kv = spec.strip().split("=", 2);
            String name = kv[0].toLowerCase(Locale.ROOT);
            double value = 0;
            if (!name.equals("flip")) {
                if (kv.length != 2) {
                    throw new IllegalArgumentException("--transform " + spec + " needs a value (" + name + "=...)");
                }
                try {
                    value = Double.parseDouble(kv[1]);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--transform " + spec + ": '" + kv[1] + "' is not a number");
                }
            } else if (kv.length == 2) {
                throw new IllegalArgumentException("--transform flip takes no value, got '" + spec + "'");
            }
            switch (name) {
                case "shift" -> {
                    if (value < 1 || value != Math.rint(value)) {
                        throw new IllegalArgumentException("--transform shift=S needs a whole number of pixels >= 1,"
                                + " got '" + kv[1] + "'");
                    }
                    requireImage(spec, shape);
                }
                case "flip" -> requireImage(spec, shape);
                case "noise", "mixup" -> {
                    if (!(value > 0) || Double.isInfinite(value)) {
                        throw new IllegalArgumentException("--transform " + spec + ": " + name
                                + " needs a positive finite value");
                    }
                }
                default -> throw new IllegalArgumentException("unknown --transform '" + spec + "': shift=S, flip,"
                        + " noise=SIGMA or mixup=ALPHA");
            }
            steps.add(new Step(name, value));
        }
        return new Augmentation(List.copyOf(steps), shape.clone());
    }

    private static void requireImage(String spec, int[] shape) {
        if (shape.length != 3) {
            throw new IllegalArgumentException("--transform " + spec + " moves pixels, but the transfer set's"
                    + " examples are " + java.util.Arrays.toString(shape) + ", not images [C, H, W]");
        }
    }

    /** The number of feature values every row must have (the product of the shape). */
    int width() {
        int w = 1;
        for (int d : shape) {
            w *= d;
        }
        return w;
    }

    boolean mixes() {
        return steps.stream().anyMatch(s -> s.name().equals("mixup"));
    }

    /** The random stream of one copy of one source row. */
    static SplittableRandom random(long seed, long sourceId, int copy) {
        long h = seed * 0x9E3779B97F4A7C15L + sourceId;
        h = (h ^ (h >>> 31)) * 0xBF58476D1CE4E5B9L + copy;
        return new SplittableRandom(h ^ (h >>> 29));
    }

    /** A transformed copy of {@code x}; {@code partner} is the mixup partner's features (unused without mixup). */
    float[] apply(float[] x, float[] partner, SplittableRandom rng) {
        float[] y = x.clone();
        for (Step s : steps) {
            switch (s.name()) {
                case "shift" -> y = shift(y, rng.nextInt(-(int) s.value(), (int) s.value() + 1),
                        rng.nextInt(-(int) s.value(), (int) s.value() + 1));
                case "flip" -> {
                    if (rng.nextBoolean()) {
                        y = flip(y);
                    }
                }
                case "noise" -> {
                    for (int i = 0; i < y.length; i++) {
                        y[i] += (float) (s.value() * gaussian(rng));
                    }
                }
                case "mixup" -> {
                    JDKRandomGenerator g = new JDKRandomGenerator();
                    g.setSeed(rng.nextLong());
                    double lambda = new BetaDistribution(g, s.value(), s.value()).sample();
                    for (int i = 0; i < y.length; i++) {
                        y[i] = (float) (lambda * y[i] + (1 - lambda) * partner[i]);
                    }
                }
                default -> throw new IllegalStateException(s.name());
            }
        }
        return y;
    }

    private float[] shift(float[] x, int dy, int dx) {
        int c = shape[0];
        int h = shape[1];
        int w = shape[2];
        float[] y = new float[x.length];
        for (int k = 0; k < c; k++) {
            for (int i = 0; i < h; i++) {
                int si = i - dy;
                if (si < 0 || si >= h) {
                    continue;
                }
                for (int j = 0; j < w; j++) {
                    int sj = j - dx;
                    if (sj >= 0 && sj < w) {
                        y[(k * h + i) * w + j] = x[(k * h + si) * w + sj];
                    }
                }
            }
        }
        return y;
    }

    private float[] flip(float[] x) {
        int h = shape[1];
        int w = shape[2];
        float[] y = new float[x.length];
        for (int r = 0; r < shape[0] * h; r++) {
            for (int j = 0; j < w; j++) {
                y[r * w + j] = x[r * w + (w - 1 - j)];
            }
        }
        return y;
    }

    /** A standard normal draw (Box-Muller, one of the pair). */
    private static double gaussian(SplittableRandom rng) {
        double u = 1 - rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextDouble());
    }

    @Override
    public String toString() {
        return String.join(",", steps.stream().map(Step::toString).toList());
    }
}
