package org.distillery.jobs.experiments;

/**
 * Validated configuration of the omitted-class experiment.
 *
 * @param transfer      published transfer set (with hard labels; rows of {@code omittedClass} are removed)
 * @param validation    published validation split: picks the students' epochs (without the omitted class) and fits
 *                      the bias correction (with it)
 * @param test          published test split, scored only
 * @param teacher       published teacher or DL4J zip, trained on every class
 * @param out           run directory
 * @param omittedClass  the class removed from the transfer set
 * @param temperature   T of the soft targets the student learns from (Hinton et al. used 20 on MNIST)
 * @param architecture  student shape
 * @param epochs        maximum epochs of each student
 * @param seed          seed of both students
 * @param workers       parallel training workers
 */
public record OmittedClassConfig(String transfer, String validation, String test, String teacher, String out,
                                 int omittedClass, double temperature, String architecture, int epochs, long seed,
                                 int workers) {
    /** High enough that the soft targets say how much each example resembles the classes it is not. */
    public static final double DEFAULT_TEMPERATURE = 8;

    public OmittedClassConfig {
        for (String[] p : new String[][] {{"transfer", transfer}, {"validation", validation}, {"test", test},
            {"teacher", teacher}, {"out", out}}) {
            if (p[1] == null || p[1].isBlank()) {
                throw new IllegalArgumentException(p[0] + " path must be set, got '" + p[1] + "'");
            }
        }
        if (omittedClass < 0) {
            throw new IllegalArgumentException("omitted class must be >= 0, got " + omittedClass);
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        }
        if (epochs < 1) {
            throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        }
        org.distillery.model.nn.Architecture.parse(architecture, 0);
    }
}
