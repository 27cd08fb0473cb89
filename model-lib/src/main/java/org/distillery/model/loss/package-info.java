/**
 * Distillation objectives as DL4J loss functions (Hinton et al. 2015) and temperature softening of logits.
 * Every objective reads the same label layout ({@link org.distillery.model.loss.TargetLayout}).
 */
package org.distillery.model.loss;
