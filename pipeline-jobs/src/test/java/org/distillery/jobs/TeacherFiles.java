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
 * Teacher files written by Python at test time: {@link #write} rewrites a DL4J MLP's weights as Keras 2 HDF5 files
 * (h5py) and an ONNX model exported by PyTorch ({@code src/test/python/make_teachers.py}); {@link #frameworks} has
 * PyTorch and Keras 3 train, save and run their own teachers ({@code src/test/python/framework_teachers.py}). Without
 * python3 or the packages of {@code src/test/python/requirements.txt} the calling test is skipped, except in CI
 * ({@code CI=true}), where it fails. {@link #gpt2} writes an ONNX causal LM the same way.
 */
public final class TeacherFiles {
    private static final Path SCRIPTS = Path.of("src/test/python").toAbsolutePath();
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
        return run("make_teachers.py", weights.toString(), out.toString());
    }

    /**
     * The teachers that framework_teachers.py trains with PyTorch and Keras 3 and saves into {@code out}, with
     * {@code expected.json}: the rows, their example shapes and each framework's logits for them.
     */
    public static Path frameworks(Path out) throws IOException, InterruptedException {
        Files.createDirectories(out);
        return run("framework_teachers.py", out.toString());
    }

    /**
     * A CNN that PyTorch trained on the first {@code rows} Fashion-MNIST training images of {@code idxDir} and exported
     * to ONNX ({@code fashion_cnn_teacher.py}), in {@code out} with {@code expected.json}: its logits per image.
     */
    public static Path fashionCnn(Path idxDir, int rows, Path out) throws IOException, InterruptedException {
        Files.createDirectories(out);
        return run("fashion_cnn_teacher.py", idxDir.toString(), Integer.toString(rows), out.toString());
    }

    /**
     * A tiny GPT-2 that Hugging Face transformers built from a config (nothing downloaded) and PyTorch exported to ONNX
     * twice, symbolic and fixed context, with refusal fixtures and {@code expected.json}: the framework's logits for
     * fixed windows ({@code gpt2_lm_teacher.py}), in {@code out}.
     */
    public static Path gpt2(Path out) throws IOException, InterruptedException {
        Files.createDirectories(out);
        return run("gpt2_lm_teacher.py", out.toString());
    }

    /**
     * The tiny GPT-2 of {@link #gpt2} over {@code vocabulary} ids ({@code gpt2_text_teacher.py}): in {@code out},
     * {@code gpt2_dynamic.onnx} ({@code positions} positions, symbolic axes) and {@code gpt2_fixed.onnx} (a fixed
     * context of {@code context} tokens).
     */
    public static Path gpt2Text(int vocabulary, int positions, int context, Path out) throws IOException,
            InterruptedException {
        Files.createDirectories(out);
        return run("gpt2_text_teacher.py", Integer.toString(vocabulary), Integer.toString(positions),
                Integer.toString(context), out.toString());
    }

    private static Path run(String script, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("python3", SCRIPTS.resolve(script).toString()));
        command.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException noPython) {
            if (CI) {
                throw new AssertionError("CI needs python3 with pipeline-jobs/src/test/python/requirements.txt", noPython);
            }
            abort("python3 is not installed: " + noPython.getMessage());
            return null;
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        if (code == 3 && !CI) {
            abort("the packages of src/test/python/requirements.txt are needed to write the fixture teachers: "
                    + output.strip());
        }
        if (code != 0) {
            throw new AssertionError(script + " exited with " + code + ": " + output.strip());
        }
        return Path.of(args[args.length - 1]);
    }
}
