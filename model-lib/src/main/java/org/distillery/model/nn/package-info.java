/**
 * Network shapes built from config, frozen teachers seen as logit functions (with a fast inference path for dense
 * MLPs), and model zip I/O with hashing.
 */
package org.distillery.model.nn;
