/**
 * The calibrate job: fits temperature scaling (and optionally per-class biases) of a published model on a validation
 * split and folds them into its output layer, publishing a model whose own logits are the calibrated ones, so what
 * evaluate's calibration report promises is what a user deploys or exports.
 */
package org.distillery.jobs.calibrate;
