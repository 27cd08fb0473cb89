package org.distillery.jobs.demo;

import java.util.List;

/**
 * The demo's scenario (where distillation pays): a teacher trained on the labelled training split labels the whole
 * split as a transfer set whose hard labels are kept for only {@code labelled} rows; the baseline sees those rows, the
 * pseudo-label and KD students see the whole transfer set. T and alpha are chosen on the validation slice. The baseline
 * gets its own epoch budget: it sees 55x fewer rows per epoch, and it trains until validation accuracy stops improving,
 * so that it is not handicapped by the students' budget.
 */
public record DemoConfig(String out, String source, int validation, int labelled, long seed,
                         String teacherArch, double teacherDropout, int teacherEpochs, int teacherBatch,
                         String studentArch, int studentEpochs, int baselineEpochs, int studentBatch,
                         double labelTemperature,
                         List<Double> temperatures, List<Double> alphas, int workers, int averagingFrequency) {
    public DemoConfig {
        if (out == null || out.isBlank()) {
            throw new IllegalArgumentException("output directory must be set, got '" + out + "'");
        }
        if (studentEpochs < 1 || baselineEpochs < 1) {
            throw new IllegalArgumentException("epochs must be >= 1, got student " + studentEpochs + ", baseline "
                    + baselineEpochs);
        }
        if (labelled < 1) {
            throw new IllegalArgumentException("labelled rows must be >= 1, got " + labelled);
        }
        temperatures = List.copyOf(temperatures);
        alphas = List.copyOf(alphas);
    }
}
