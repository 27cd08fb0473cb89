/**
 * Evaluate: what each student kept of the teacher, on the test split, as report.json and a printed table; classifiers
 * on a vector test split, language models on a text one ({@link org.distillery.jobs.evaluate.LmEvaluation}). Peers of a mutual-learning run scored together get an extra row,
 * their ensemble ({@code Ensembles}).
 */
package org.distillery.jobs.evaluate;
