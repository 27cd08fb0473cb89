/**
 * Network shapes built from config, frozen teachers seen as logit functions (with a fast inference path for dense
 * MLPs), teacher files in three formats (DL4J zip, Keras HDF5 through DL4J's import, ONNX through ONNX Runtime), and
 * model zip I/O with hashing.
 */
package org.distillery.model.nn;
