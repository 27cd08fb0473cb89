/**
 * The {@code distill} command line: picocli options that build each job's config, the mixins for options several
 * commands share (seed and workers, {@code -T}, {@code --mode}, {@code --config} and {@code --dry-run}), the one tail
 * every job command ends with (dry run or run, then the one-line JSON summary), and exit codes.
 */
package org.distillery.jobs.cli;
