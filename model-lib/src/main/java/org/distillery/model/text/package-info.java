/**
 * Text for language models, without Spark: the character vocabulary and its SHA-256
 * ({@link org.distillery.model.text.CharVocabulary}), documents checked and turned into token streams
 * ({@link org.distillery.model.text.Documents}), streams cut into windows with a masked burn-in
 * ({@link org.distillery.model.text.Windowing}), windows to minibatches in distillery's target layout
 * ({@link org.distillery.model.text.WindowBatches}), and the next-token metrics of an evaluation
 * ({@link org.distillery.model.text.NextTokenMetrics}, {@link org.distillery.model.text.TokenAgreement}).
 *
 * <p>Layouts, once for all: token ids [N, T]; logits and labels [N, V, T] and [N, 2V, T] (DL4J's NCW, vocabulary on the
 * second axis); masks [N, T], 1 where a position's loss and metrics count.
 */
package org.distillery.model.text;
