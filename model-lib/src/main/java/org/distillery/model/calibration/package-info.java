/**
 * Calibration after distillation, fitted on a validation slice and applied to logits: temperature scaling (Guo et
 * al. 2017), per-class bias correction (the adjustment Hinton et al. 2015 use for a class omitted from the transfer
 * set), and the reliability table and expected calibration error that say whether it helped.
 */
package org.distillery.model.calibration;
