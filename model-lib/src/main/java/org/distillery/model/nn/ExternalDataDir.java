package org.distillery.model.nn;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A model file and its external data files written into a local temporary directory, laid out as the model names
 * them, for a runtime that opens a model from a path; deleted on close (ONNX Runtime holds the weights by then).
 */
final class ExternalDataDir implements AutoCloseable {
    private final Path dir;
    private final Path model;

    private ExternalDataDir(Path dir, Path model) {
        this.dir = dir;
        this.model = model;
    }

    /** Writes {@code file}'s bytes and its side files {@code locations} (checked with {@link #checkLocation}). */
    static ExternalDataDir write(ModelFile file, Set<String> locations) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("distillery-model-");
            Path model = dir.resolve("model.onnx");
            Files.write(model, file.bytes());
            for (String location : locations) {
                Path side = dir.resolve(location).normalize();
                Files.createDirectories(side.getParent());
                Files.write(side, file.sideFiles().get(location));
            }
            return new ExternalDataDir(dir, model);
        } catch (IOException e) {
            delete(dir);
            throw new UncheckedIOException("cannot write " + file.source() + " and its external data to a temporary"
                    + " directory", e);
        }
    }

    /**
     * Refuses an external data location that could name a file outside the model's directory (absolute, or climbing
     * with {@code ..}).
     */
    static void checkLocation(String location, String source) {
        Path p = Path.of(location);
        if (location.isEmpty() || p.isAbsolute() || location.startsWith("/") || location.contains("\\")
                || p.normalize().startsWith("..") || !p.normalize().equals(p)) {
            throw new IllegalArgumentException("ONNX model " + source + " names external data outside its directory: '"
                    + location + "'");
        }
    }

    Path model() {
        return model;
    }

    @Override
    public void close() {
        delete(dir);
    }

    private static void delete(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the temporary directory " + dir, e);
        }
    }
}
