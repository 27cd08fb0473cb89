/**
 * Experiments built from the pipeline's jobs, resumable stage by stage: Hinton et al.'s omitted-class result and
 * self-distillation over generations (born-again networks).
 */
package org.distillery.jobs.experiments;
