/**
 * Network shapes built from config, frozen teachers seen as logit functions (with a fast inference path for dense
 * MLPs, also after LeNet-style convolutions), teacher files in their formats (DL4J zip; Keras 2 and 3 files rebuilt as DL4J networks; ONNX, with external data,
 * through ONNX Runtime) and how their inputs take the transfer set's example shape, and
 * model zip I/O with hashing; for training, {@link org.distillery.model.nn.FastAdam} and
 * {@link org.distillery.model.nn.DenseTrainingStep}, DL4J's update rule and training step at less cost per step (its
 * convolutions, as the inference path's, by im2col and gemm);
 * {@link org.distillery.model.nn.PeerNetworks}, K MLP students side by side in one network for mutual learning.
 * Language models: {@link org.distillery.model.nn.LstmArchitecture} builds a character LSTM LM from a spec,
 * {@link org.distillery.model.nn.LanguageModels} gives its logits [N, V, T] and steps it for generation, and reads
 * teacher LMs, DL4J or ONNX causal LMs, as a {@link org.distillery.model.nn.TokenLogitFunction},
 * {@link org.distillery.model.nn.Sampling} draws tokens (temperature, top-p). Underneath all of them,
 * {@link org.distillery.model.nn.BlasKernel} chooses the OpenBLAS kernel ND4J's products run on, once per JVM.
 */
package org.distillery.model.nn;
