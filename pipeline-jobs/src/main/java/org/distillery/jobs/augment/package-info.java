/**
 * The augment job: a published transfer set widened by declared, seeded transforms (image shifts and flips,
 * Gaussian noise, mixup between rows), each new row with its own stable id and its source row's id, published as a
 * transfer set the teacher then labels like any other.
 */
package org.distillery.jobs.augment;
