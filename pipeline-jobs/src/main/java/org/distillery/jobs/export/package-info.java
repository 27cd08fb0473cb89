/**
 * Export: a published student (DL4J zip) as an ONNX graph, fp32 and, with calibration rows from a transfer set, int8
 * (QuantizeLinear/DequantizeLinear), verified against DL4J's own logits with ONNX Runtime and published with a model
 * card. {@link org.distillery.jobs.export.ExportJob} is the job; the graph is built with ONNX's generated protobuf
 * classes that nd4j-api ships ({@code onnx.Onnx}).
 */
package org.distillery.jobs.export;
