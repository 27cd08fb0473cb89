/**
 * Train: students (and the teacher) from the transfer set and its soft targets, over a grid of temperature and alpha,
 * with checkpoints; soft targets become minibatches on the executors, and the parameter-averaging engine
 * ({@link org.distillery.jobs.train.averaging}) trains on them. {@code --task lm} trains a character-level LSTM
 * language model on a text transfer set with the same engine, checkpoints and publication ({@code LmTraining}).
 *
 * <p>{@code --objective mutual} (deep mutual learning, {@code MutualTraining}) trains K students with no teacher. They
 * live side by side in one {@code MultiLayerNetwork} (model-lib's {@code PeerNetworks}: summed layer widths,
 * block-diagonal weights, K heads of logits) rather than in a ComputationGraph with K heads or K networks stepped in
 * lockstep: the engine, its exchange, its dense worker step and its equivalence tests all take one
 * {@code MultiLayerNetwork}, so the peers need no new engine code, and every minibatch step sees all K students'
 * predictions on the same rows, which the loss needs. The price is the unused off-diagonal blocks of the
 * hidden-to-hidden layers (zero, but multiplied), small for the dense students this serves; cnn students are refused.
 */
package org.distillery.jobs.train;
