/**
 * Experiments built from the pipeline's jobs, resumable stage by stage: Hinton et al.'s omitted-class result.
 */
package org.distillery.jobs.experiments;
