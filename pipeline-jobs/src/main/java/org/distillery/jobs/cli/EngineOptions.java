package org.distillery.jobs.cli;

import picocli.CommandLine.Option;

/** Options of the distributed trainer and the seed, shared by every command that trains. */
final class EngineOptions {
    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--workers", defaultValue = "2", description = "Parallel training workers (default: ${DEFAULT-VALUE}).")
    int workers;
    @Option(names = "--averaging-frequency", defaultValue = "10",
            description = "Minibatches per worker between parameter averagings (default: ${DEFAULT-VALUE}).")
    int averagingFrequency;
}
