package org.distillery.jobs.common;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;

/**
 * A model as an input: the zip's bytes, their SHA-256, and the manifest of the output that holds it when there is one.
 * {@code path} is either a published model directory (holding {@value #FILE}) or a bare DL4J zip.
 */
public record ModelArtifact(String path, String zipPath, byte[] bytes, String sha256, Manifest manifest) {
    public static final String FILE = "model.zip";

    public static ModelArtifact read(Storage storage, String path) {
        boolean bareZip = path.endsWith(".zip");
        String zip = bareZip ? path : path + "/" + FILE;
        Manifest manifest = bareZip ? null : storage.publishedManifest(path);
        byte[] bytes = storage.readBytes(zip);
        return new ModelArtifact(storage.qualify(path), storage.qualify(zip), bytes, Models.sha256(bytes), manifest);
    }

    public MultiLayerNetwork network() {
        return Models.fromBytes(bytes, zipPath);
    }

    public Manifest.Input asInput() {
        return new Manifest.Input(path, manifest == null ? null : manifest.id());
    }
}
