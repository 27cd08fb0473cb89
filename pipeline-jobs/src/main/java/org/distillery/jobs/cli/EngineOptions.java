package org.distillery.jobs.cli;

import org.distillery.jobs.train.TrainConfig;
import picocli.CommandLine.Option;

/** Options of the distributed trainer and the seed, shared by every command that trains. */
final class EngineOptions {
    @Option(names = "--seed", defaultValue = "" + TrainConfig.DEFAULT_SEED,
            description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--workers", defaultValue = "" + TrainConfig.DEFAULT_WORKERS,
            description = "Parallel training workers (default: ${DEFAULT-VALUE}).")
    int workers;
    @Option(names = "--averaging-frequency", defaultValue = "" + TrainConfig.DEFAULT_AVERAGING_FREQUENCY,
            description = "Minibatches per worker between parameter averagings (default: ${DEFAULT-VALUE}).")
    int averagingFrequency;
}
