package org.distillery.model.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Reads the real Fashion-MNIST test split from Debian's dataset-fashion-mnist (CI installs it). */
class FashionMnistFilesTest {
    private static final Path DIR = Path.of("/usr/share/datasets/fashion-mnist");

    @Test
    void readsTheDebianPackagesTestSplit() throws Exception {
        assumeTrue(Files.isDirectory(DIR), "dataset-fashion-mnist is not installed");
        int[] labels = IdxReader.readLabels(DIR.resolve("t10k-labels-idx1-ubyte.gz"));
        byte[][] images = IdxReader.readImages(DIR.resolve("t10k-images-idx3-ubyte.gz"));
        assertThat(labels).hasSize(10_000);
        assertThat(images).hasNumberOfRows(10_000);
        assertThat(images[0]).hasSize(784);
        int[] perClass = new int[10];
        for (int y : labels) {
            perClass[y]++;
        }
        assertThat(perClass).containsOnly(1000);
    }
}
