package org.distillery.jobs.cli;

import picocli.CommandLine.Option;

/**
 * {@code -T}: the temperature of the soft targets a command labels, stored as softmax(logits / T) and recorded for
 * training. One option for every command that labels; each command passes its own default when it creates the mixin
 * (picocli shows and uses a mixin field's initial value as its default), because they differ on purpose.
 */
final class SoftTemperature {
    @Option(names = {"-T", "--temperature"}, paramLabel = "T",
            description = "Temperature of the soft targets labelled, softmax(logits/T), recorded for training (default:"
                    + " ${DEFAULT-VALUE}; label 2 for general use, born-again 1 so that each generation learns its"
                    + " teacher's own probabilities, omitted-class 8, high enough that the soft targets"
                    + " say how much each example resembles the classes it is not).")
    double value;

    SoftTemperature(double defaultValue) {
        this.value = defaultValue;
    }
}
