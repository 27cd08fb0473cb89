package org.distillery.jobs.experiments;

/**
 * Validated configuration of self-distillation over generations (born-again networks, Furlanello et al. 2018).
 *
 * @param transfer     published transfer set
 * @param validation   published validation split (epoch choice, calibration)
 * @param test         published test split, scored only
 * @param teacher      published teacher directory (its manifest names its architecture) or DL4J zip
 * @param out          run directory
 * @param generations  how many students in the chain; generation g is taught by generation g - 1 (0: the teacher)
 * @param architecture student shape; null or blank: the teacher's own (self-distillation)
 * @param temperature  T of each generation's soft targets
 * @param alpha        soft-term weight
 * @param labelled     transfer rows that keep their hard label (null: all)
 * @param epochs       maximum epochs per generation
 * @param learningRate Adam learning rate of every generation
 * @param seed         seed of every generation
 * @param workers      parallel training workers
 */
public record BornAgainConfig(String transfer, String validation, String test, String teacher, String out,
                              int generations, String architecture, double temperature, double alpha, Integer labelled,
                              int epochs, double learningRate, long seed, int workers) {
    /** Each generation learns its teacher's own probabilities, unsoftened. */
    public static final double DEFAULT_TEMPERATURE = 1;

    public BornAgainConfig {
        for (String[] p : new String[][] {{"transfer", transfer}, {"validation", validation}, {"test", test},
            {"teacher", teacher}, {"out", out}}) {
            if (p[1] == null || p[1].isBlank()) {
                throw new IllegalArgumentException(p[0] + " path must be set, got '" + p[1] + "'");
            }
        }
        if (generations < 1) {
            throw new IllegalArgumentException("generations must be >= 1, got " + generations);
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        }
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
        }
        if (epochs < 1) {
            throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be a finite number > 0, got " + learningRate);
        }
        architecture = architecture == null || architecture.isBlank() ? null : architecture;
        if (architecture != null) {
            org.distillery.model.nn.Architecture.parse(architecture, 0);
        }
    }
}
