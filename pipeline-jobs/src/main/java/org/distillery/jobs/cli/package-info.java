/** The {@code distill} command line: picocli options that build each job's config, and exit codes. */
package org.distillery.jobs.cli;
