package org.distillery.jobs.train;

/**
 * Learning-rate schedules by epoch, applied on the driver before each epoch (so every worker of every averaging round
 * uses the same rate, and a resumed run picks up the same rate): {@code constant}, {@code step:N:G} (times G every N
 * epochs), {@code exp:G} (times G every epoch) and {@code cosine} (base * (1 + cos(pi * (epoch - 1) / epochs)) / 2:
 * half a cosine from the base rate towards 0, never reaching it).
 */
public final class LearningRates {
    static final String CONSTANT = "constant";

    private final String kind;
    private final double base;
    private final int every;
    private final double gamma;
    private final int epochs;

    private LearningRates(String kind, double base, int every, double gamma, int epochs) {
        this.kind = kind;
        this.base = base;
        this.every = every;
        this.gamma = gamma;
        this.epochs = epochs;
    }

    public static LearningRates parse(String spec, double base, int epochs) {
        String[] p = spec.split(":");
        try {
            switch (p[0]) {
                case CONSTANT:
                case "cosine":
                    if (p.length == 1) {
                        return new LearningRates(p[0], base, 1, 1, epochs);
                    }
                    break;
                case "step":
                    if (p.length == 3) {
                        return valid(new LearningRates("step", base, Integer.parseInt(p[1]), Double.parseDouble(p[2]),
                                epochs), spec);
                    }
                    break;
                case "exp":
                    if (p.length == 2) {
                        return valid(new LearningRates("step", base, 1, Double.parseDouble(p[1]), epochs), spec);
                    }
                    break;
                default:
                    break;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("learning-rate schedule must be constant, step:N:G, exp:G or cosine, got '"
                + spec + "'");
    }

    private static LearningRates valid(LearningRates r, String spec) {
        if (r.every < 1 || !(r.gamma > 0 && r.gamma <= 1)) {
            throw new IllegalArgumentException("learning-rate schedule needs N >= 1 and 0 < G <= 1, got '" + spec + "'");
        }
        return r;
    }

    /** The rate for 1-based {@code epoch}. */
    public double at(int epoch) {
        switch (kind) {
            case "step":
                return base * Math.pow(gamma, (epoch - 1) / every);
            case "cosine":
                return base * 0.5 * (1 + Math.cos(Math.PI * (epoch - 1) / Math.max(1, epochs)));
            default:
                return base;
        }
    }
}
