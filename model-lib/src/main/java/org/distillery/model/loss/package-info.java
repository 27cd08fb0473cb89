/**
 * Distillation objectives as DL4J loss functions and temperature softening of logits: response-based (Hinton et al.
 * 2015, {@link org.distillery.model.loss.DistillationLoss}), plus FitNets hints and relation terms against a stored
 * teacher layer ({@link org.distillery.model.loss.CompositeLoss}, {@link org.distillery.model.loss.Relation}).
 * Every objective reads the same label layout ({@link org.distillery.model.loss.TargetLayout}); language models read it
 * per token ([N, 2V, T]) through {@link org.distillery.model.loss.TokenDistillationLoss}, the response loss averaged
 * over the scored tokens. Deep mutual learning without a teacher ({@link org.distillery.model.loss.MutualLoss}) pulls
 * K students side by side towards each other's softened predictions. For identity logits the
 * response loss is computed row by row in plain Java ({@code KdRows}), its ND4J formulation kept for other activations.
 */
package org.distillery.model.loss;
