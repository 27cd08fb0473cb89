/**
 * Generate: sequence-level (black-box) distillation's transfer set. A frozen teacher LM samples continuations of
 * prompts taken from a text transfer set, in Spark, and the prompts with their continuations are published as a new
 * text transfer set that {@code train --task lm} and {@code label} read like an ingested one.
 */
package org.distillery.jobs.generate;
