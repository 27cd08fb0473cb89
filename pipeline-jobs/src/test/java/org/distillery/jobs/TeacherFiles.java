package org.distillery.jobs;

import static org.junit.jupiter.api.Assumptions.abort;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;

/**
 * A DL4J MLP teacher rewritten as Keras HDF5 and ONNX files by {@code src/test/python/make_teachers.py} (h5py and onnx):
 * {@code sequential.h5}, {@code functional.h5} and {@code teacher.onnx}. Without python3 or those packages the calling
 * test is skipped, except in CI ({@code CI=true}), where it fails.
 */
public final class TeacherFiles {
    private static final Path SCRIPT = Path.of("src/test/python/make_teachers.py").toAbsolutePath();
    private static final boolean CI = "true".equals(System.getenv("CI"));

    private TeacherFiles() {
    }

    /**
     * Writes {@code net}'s weights (ReLU hidden layers and an identity output, as {@code Architecture} builds MLPs;
     * with {@code softmaxOutput} the files end in softmax instead) and runs make_teachers.py on them into {@code out}.
     */
    public static Path write(MultiLayerNetwork net, boolean softmaxOutput, Path out) throws IOException,
            InterruptedException {
        Files.createDirectories(out);
        List<Map<String, Object>> layers = new ArrayList<>();
        for (int i = 0; i < net.getnLayers(); i++) {
            var activation = ((BaseLayer) net.getLayer(i).conf().getLayer()).getActivationFn();
            boolean last = i == net.getnLayers() - 1;
            if (!(last ? activation instanceof ActivationIdentity : activation instanceof ActivationReLU)) {
                throw new IllegalArgumentException("layer " + i + " has activation " + activation + "; ReLU hidden"
                        + " layers and an identity output are written");
            }
            layers.add(Map.of("W", net.getLayer(i).getParam("W").toDoubleMatrix(),
                    "b", net.getLayer(i).getParam("b").toDoubleVector(),
                    "activation", !last ? "relu" : softmaxOutput ? "softmax" : "linear"));
        }
        Path weights = out.resolve("weights.json");
        new ObjectMapper().writeValue(weights.toFile(), Map.of("layers", layers));
        Process p;
        try {
            p = new ProcessBuilder("python3", SCRIPT.toString(), weights.toString(), out.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException noPython) {
            if (CI) {
                throw new AssertionError("CI needs python3 with pipeline-jobs/src/test/python/requirements.txt", noPython);
            }
            abort("python3 is not installed: " + noPython.getMessage());
            return out;
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        if (code == 3 && !CI) {
            abort("h5py and onnx are needed to write the fixture teachers: " + output.strip());
        }
        if (code != 0) {
            throw new AssertionError("make_teachers.py exited with " + code + ": " + output.strip());
        }
        return out;
    }
}
